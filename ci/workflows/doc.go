// Package workflows holds the checks on the GitHub Actions workflows in
// .github/workflows; it has no code of its own, only tests.
//
// The tests run actionlint (github.com/rhysd/actionlint, as a library, with
// the configuration in .github/actionlint.yaml) over every workflow, and
// then this repository's own rules, in plain Go over the parsed YAML:
//
//   - every action is pinned: a full commit SHA with the release in a
//     comment ("@<sha> # v4.2.2"), or at least a version tag, never a
//     branch; SHA-pinned actions that actionlint knows have their with:
//     inputs checked against the release in the comment, since actionlint
//     itself only checks actions pinned by tag;
//   - every workflow declares its permissions, and none asks for write-all;
//   - a job that deploys (one with an environment) runs only when the gate
//     blessed the model: it needs a job with a blessed output and its if:
//     tests that output;
//   - a workflow that runs on pull requests runs the suite through ./.ci/run.
//
// Broken workflows under testdata show that each check fails when it should.
package workflows
