package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCmd probes a URL the way a container runtime's HEALTHCHECK
// needs: the serving image is distroless, with no shell or curl, so the
// binary checks itself.
func (a *app) healthcheckCmd() *cobra.Command {
	var (
		target  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url http://127.0.0.1:8080/readyz]",
		Short: "Exit 0 when a URL answers 2xx within the timeout, 1 otherwise (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageError{fmt.Errorf("--url %q: want an http:// or https:// URL", target)}
			}
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout %v: want a positive duration", timeout)}
			}
			return probe(cmd.Context(), target, timeout)
		},
	}
	cmd.Flags().StringVar(&target, "url", "http://127.0.0.1:8080/readyz", "URL to GET")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "give up after this long")
	return cmd
}

// probe GETs target and returns nil on a 2xx answer.
func probe(ctx context.Context, target string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("healthcheck %s: no answer within %v", target, timeout)
		}
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("healthcheck %s: %s", target, resp.Status)
	}
	return nil
}
