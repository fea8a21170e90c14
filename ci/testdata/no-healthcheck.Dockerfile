# no-healthcheck: a test case of dockerfiles_test.go.
FROM golang:1.26.4@sha256:87a41d2539e5671777734e91f467499ed5eafb1fb1f77221dff2744db7a51775 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/nebras ./cmd/nebras

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/nebras /usr/local/bin/nebras
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/nebras", "serve"]
CMD ["--addr", "0.0.0.0:8080", "--registry-model", "nebras-support-bot"]
