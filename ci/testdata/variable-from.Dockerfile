# variable-from: a test case of dockerfiles_test.go.
ARG BASE=nvidia/cuda:12.9.1-runtime-ubuntu24.04@sha256:1287141d283b8f06f45681b56a48a85791398c615888b1f96bfb9fc981392d98
FROM golang:1.26.4@sha256:87a41d2539e5671777734e91f467499ed5eafb1fb1f77221dff2744db7a51775 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/nebras ./cmd/nebras

FROM ${BASE}
COPY --from=build /out/nebras /usr/local/bin/nebras
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/nebras", "train"]
CMD ["--help"]
