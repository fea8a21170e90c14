package training

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/model/hub"
	"github.com/nebras-ai/nebras/transforms"
)

// CardFile is the name of the model card in a model directory, where the
// Hugging Face hub and MLflow's artifact view both look for it.
const CardFile = "README.md"

// KV is one key/value pair of an ordered list: a hyper-parameter, a
// metric, a system property.
type KV struct {
	Key, Value string
}

// CardDataset describes the data a model was trained on.
type CardDataset struct {
	Name   string
	Digest string
	Path   string
	Rows   int64 // training examples
	Tokens int64 // training tokens
}

// CardLoRA describes LoRA adapters.
type CardLoRA struct {
	Rank    int
	Alpha   float64
	Targets []string
}

// Card is what a model card says about a trained model.
type Card struct {
	ModelName string
	// Base is the base model as the user named it (a local directory,
	// hf:org/name[@rev], models:/..., scratch:...); BaseRef, when set, is
	// the immutable reference it resolved to (a hub commit, a registry
	// version).
	Base, BaseRef string
	Dataset       CardDataset
	// Method is "full" or "lora"; LoRA is set for "lora".
	Method string
	LoRA   *CardLoRA
	// Hyper and Metrics are shown in the order given, values as given.
	Hyper   []KV
	Metrics []KV
	// RunID, TrackingURI and ExperimentName name the MLflow run that
	// trained the model.
	RunID, TrackingURI, ExperimentName string
	Created                            time.Time
	Tokenizer                          string
	// ChatTemplate is the name of the chat template of the training data
	// (the dataset manifest's chat_template).
	ChatTemplate string
}

// WriteCard writes c as a Hugging Face model card to dir/README.md,
// atomically. The card is a function of c alone.
func WriteCard(dir string, c Card) error {
	b, err := c.Markdown()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, CardFile), b); err != nil {
		return fmt.Errorf("model card: %w", err)
	}
	return nil
}

// cardMeta is the card's YAML front matter, in the order the hub shows
// it.
type cardMeta struct {
	LibraryName string   `yaml:"library_name"`
	PipelineTag string   `yaml:"pipeline_tag"`
	BaseModel   string   `yaml:"base_model,omitempty"`
	Tags        []string `yaml:"tags"`
}

// Markdown renders the card: YAML front matter, then Markdown.
func (c Card) Markdown() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	meta := cardMeta{
		LibraryName: "transformers",
		PipelineTag: "text-generation",
		BaseModel:   c.baseModel(),
		Tags:        []string{"nebras", "gpt2", "support"},
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(meta); err != nil {
		return nil, fmt.Errorf("model card: front matter: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("model card: front matter: %w", err)
	}
	b.WriteString("---\n\n")

	fmt.Fprintf(&b, "# %s\n\n", c.ModelName)
	fmt.Fprintf(&b, "%s is a GPT-2 language model fine-tuned with [nebras](https://github.com/nebras-ai/nebras) "+
		"to write replies to customer-support conversations: given the conversation so far, rendered with the "+
		"chat template below, it continues with the agent's next reply.\n\n", c.ModelName)

	b.WriteString("## Model\n\n")
	fmt.Fprintf(&b, "- **Base:** %s\n", c.baseText())
	fmt.Fprintf(&b, "- **Method:** %s\n", c.methodText())
	if c.Tokenizer != "" {
		fmt.Fprintf(&b, "- **Tokenizer:** %s\n", mdCode(c.Tokenizer))
	}
	if !c.Created.IsZero() {
		fmt.Fprintf(&b, "- **Created:** %s\n", c.Created.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")

	b.WriteString("## Training data\n\n")
	d := c.Dataset
	if d.Name != "" {
		fmt.Fprintf(&b, "- **Dataset:** %s\n", mdInline(d.Name))
	}
	if d.Digest != "" {
		fmt.Fprintf(&b, "- **Digest:** %s\n", mdCode(d.Digest))
	}
	if d.Path != "" {
		fmt.Fprintf(&b, "- **Path:** %s\n", mdCode(d.Path))
	}
	if d.Rows > 0 || d.Tokens > 0 {
		fmt.Fprintf(&b, "- **Size:** %s training examples, %s tokens\n", fmtThousands(d.Rows), fmtThousands(d.Tokens))
	}
	b.WriteString("\n")

	if len(c.Hyper) > 0 {
		b.WriteString("## Hyper-parameters\n\n")
		writeCardTable(&b, "Parameter", c.Hyper)
	}
	if len(c.Metrics) > 0 {
		b.WriteString("## Results\n\n")
		b.WriteString("Final values of the training run.\n\n")
		writeCardTable(&b, "Metric", c.Metrics)
	}

	c.writeUsage(&b)
	c.writeTemplate(&b)

	if c.RunID != "" {
		b.WriteString("## MLflow\n\n")
		fmt.Fprintf(&b, "- **Run:** %s\n", mdCode(c.RunID))
		if c.ExperimentName != "" {
			fmt.Fprintf(&b, "- **Experiment:** %s\n", mdInline(c.ExperimentName))
		}
		if c.TrackingURI != "" {
			fmt.Fprintf(&b, "- **Tracking URI:** %s\n", mdCode(c.TrackingURI))
		}
		b.WriteString("\n")
		if c.TrackingURI != "" && !isHTTPURI(c.TrackingURI) {
			fmt.Fprintf(&b, "Browse it with %s.\n\n", mdCode("mlflow ui --backend-store-uri "+c.TrackingURI))
		}
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n'), nil
}

func (c Card) validate() error {
	var errs []error
	if strings.TrimSpace(c.ModelName) == "" {
		errs = append(errs, errors.New("no model name"))
	}
	if strings.ContainsAny(c.ModelName, "\r\n") {
		errs = append(errs, fmt.Errorf("model name %q spans lines", c.ModelName))
	}
	switch c.Method {
	case "full":
		if c.LoRA != nil {
			errs = append(errs, errors.New("method full with LoRA settings"))
		}
	case "lora":
		if c.LoRA == nil {
			errs = append(errs, errors.New("method lora without LoRA settings"))
		}
	default:
		errs = append(errs, fmt.Errorf("method %q: want full or lora", c.Method))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("model card: %w", err)
	}
	return nil
}

// baseModel is the front matter's base_model: the hub repository of a
// hub base, the registry reference (pinned when known) of a registry
// base, nothing for a local directory or a model trained from scratch.
func (c Card) baseModel() string {
	switch {
	case strings.HasPrefix(c.Base, "hf:"):
		if r, err := hub.ParseRef(c.Base); err == nil {
			return r.Repo
		}
	case strings.HasPrefix(c.Base, "models:/"):
		if strings.HasPrefix(c.BaseRef, "models:/") {
			return c.BaseRef
		}
		return c.Base
	}
	return ""
}

func (c Card) baseText() string {
	switch {
	case c.Base == "":
		return "not recorded"
	case strings.HasPrefix(c.Base, "scratch:"):
		return fmt.Sprintf("none: trained from a randomly initialised GPT-2 (%s)", mdCode(c.Base))
	}
	s := mdCode(c.Base)
	if c.BaseRef != "" && c.BaseRef != c.Base {
		s += ", resolved to " + mdCode(c.BaseRef)
	}
	return s
}

func (c Card) methodText() string {
	if c.Method == "full" {
		return "full fine-tuning: every weight was trained"
	}
	l := c.LoRA
	s := fmt.Sprintf("LoRA: low-rank adapters of rank %d, alpha %s", l.Rank, strconv.FormatFloat(l.Alpha, 'g', -1, 64))
	if len(l.Targets) > 0 {
		ts := make([]string, len(l.Targets))
		for i, t := range l.Targets {
			ts[i] = mdCode(t)
		}
		s += ", on " + strings.Join(ts, ", ")
	}
	return s + "; the base weights were frozen"
}

// exampleMessage is the customer message the usage examples answer.
const exampleMessage = "My order arrived damaged. Can I get a replacement?"

func (c Card) writeUsage(b *bytes.Buffer) {
	prompt := transforms.RenderPrompt([]transforms.Turn{{Role: transforms.RoleCustomer, Text: exampleMessage}})
	stop := "\n" + transforms.RolePrefix(transforms.RoleCustomer)
	b.WriteString("## Usage\n\n")
	b.WriteString("The files in this directory are a Hugging Face GPT-2 checkpoint (`config.json`, " +
		"`model.safetensors`, `vocab.json`, `merges.txt`).\n\n")
	b.WriteString("With transformers:\n\n")
	b.WriteString("```python\n")
	b.WriteString("from transformers import AutoModelForCausalLM, AutoTokenizer\n\n")
	b.WriteString("path = \"path/to/this/directory\"\n")
	b.WriteString("tokenizer = AutoTokenizer.from_pretrained(path)\n")
	b.WriteString("model = AutoModelForCausalLM.from_pretrained(path)\n\n")
	fmt.Fprintf(b, "prompt = %s\n", strconv.Quote(prompt))
	b.WriteString("ids = tokenizer(prompt, return_tensors=\"pt\").input_ids\n")
	b.WriteString("out = model.generate(ids, max_new_tokens=64, do_sample=False, pad_token_id=tokenizer.eos_token_id)\n")
	b.WriteString("reply = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)\n")
	fmt.Fprintf(b, "print(reply.split(%s)[0].strip())\n", strconv.Quote(stop))
	b.WriteString("```\n\n")
	b.WriteString("With nebras (`--chat` renders the prompt with the chat template and stops at the next turn):\n\n")
	b.WriteString("```sh\n")
	fmt.Fprintf(b, "nebras generate --model path/to/this/directory --chat --prompt %s\n", shellQuoteArg(exampleMessage))
	b.WriteString("```\n\n")
}

func (c Card) writeTemplate(b *bytes.Buffer) {
	b.WriteString("## Chat template\n\n")
	switch c.ChatTemplate {
	case "":
		b.WriteString("Not recorded.\n\n")
		return
	case transforms.ChatTemplateName:
	default:
		fmt.Fprintf(b, "%s (see the training dataset's manifest).\n\n", mdCode(c.ChatTemplate))
		return
	}
	fmt.Fprintf(b, "%s: plain text, one turn per line as `Role: text` (roles %s, %s, %s). "+
		"The prompt is the conversation followed by `%s`; the model writes a space, the reply and `<|endoftext|>`. "+
		"Training computed the loss on the reply only.\n\n",
		mdCode(c.ChatTemplate),
		mdCode(strings.TrimSuffix(transforms.RolePrefix(transforms.RoleCustomer), ":")),
		mdCode(strings.TrimSuffix(transforms.RolePrefix(transforms.RoleAgent), ":")),
		mdCode(strings.TrimSuffix(transforms.RolePrefix(transforms.RoleSystem), ":")),
		transforms.RolePrefix(transforms.RoleAgent))
	b.WriteString("```text\n")
	b.WriteString(transforms.RenderPrompt([]transforms.Turn{
		{Role: transforms.RoleCustomer, Text: "Hi, my parcel has not arrived yet."},
		{Role: transforms.RoleAgent, Text: "Sorry to hear that! Could you share your order number?"},
		{Role: transforms.RoleCustomer, Text: "It is 48213."},
	}))
	b.WriteString("\n```\n\n")
}

// writeTable writes kvs as a two-column Markdown table.
func writeCardTable(b *bytes.Buffer, keyHeader string, kvs []KV) {
	fmt.Fprintf(b, "| %s | Value |\n|---|---|\n", keyHeader)
	for _, kv := range kvs {
		fmt.Fprintf(b, "| %s | %s |\n", mdCell(kv.Key), mdCell(kv.Value))
	}
	b.WriteString("\n")
}

// cell makes s safe inside a table cell: one line, pipes escaped.
func mdCell(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(s)
	if s == "" {
		return " "
	}
	return s
}

// inline makes s safe as running text on one line.
func mdInline(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// code renders s as an inline code span, with a fence longer than any
// run of backticks inside it.
func mdCode(s string) string {
	s = mdInline(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || s == "" {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// thousands writes n with comma separators.
func fmtThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// shellQuote quotes s for a POSIX shell.
func shellQuoteArg(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isHTTPURI(uri string) bool {
	return strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://")
}
