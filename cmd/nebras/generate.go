package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/transforms"
)

func (a *app) generateCmd() *cobra.Command {
	var (
		modelRef, prompt string
		chat, asJSON     bool
		threads          int
		opt              model.GenerateOptions
	)
	cmd := &cobra.Command{
		Use:   "generate --model MODEL --prompt TEXT",
		Short: "Continue a prompt with a GPT-2 checkpoint (KV cache; greedy or sampled)",
		Long: `Continue a prompt. With --chat the prompt is one customer message, rendered
with the chat template the data pipeline trains on, and generation stops at
the next turn. Prompts longer than the context are cut from the left.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelRef == "" {
				return usageError{errors.New("--model is required")}
			}
			if err := opt.Sampling.Validate(); err != nil {
				return usageError{err}
			}
			m, err := model.Open(cmd.Context(), modelRef)
			if err != nil {
				return err
			}
			if m.Tokenizer == nil {
				return fmt.Errorf("%s has no tokenizer (vocab.json, merges.txt)", modelRef)
			}
			text := prompt
			if chat {
				text = transforms.RenderPrompt([]transforms.Turn{{Role: transforms.RoleCustomer, Text: prompt}})
				opt.Stop = append(opt.Stop, "\n"+transforms.RolePrefix(transforms.RoleCustomer))
			}
			var ids []int32
			for _, id := range m.Tokenizer.Encode(text) {
				ids = append(ids, int32(id))
			}
			cpu := kernels.NewCPU(threads)
			defer cpu.Close()
			res, err := m.Generate(cmd.Context(), cpu, [][]int32{ids}, opt)
			if err != nil {
				return err
			}
			g := res[0]
			if asJSON {
				return writeJSONLine(a.stdout, map[string]any{
					"text": g.Text, "tokens": g.Tokens, "finish_reason": g.FinishReason,
					"prompt_tokens": g.PromptTokens, "prompt_truncated": g.Truncated,
				})
			}
			out := g.Text
			if chat {
				out = strings.TrimSpace(out)
			}
			fmt.Fprintln(a.stdout, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelRef, "model", "", "checkpoint directory or hf:org/name[@rev]")
	f.StringVar(&prompt, "prompt", "", "text to continue")
	f.BoolVar(&chat, "chat", false, "treat the prompt as a customer message in the chat template")
	f.BoolVar(&asJSON, "json", false, "print a JSON object with tokens and finish reason")
	f.IntVar(&opt.MaxNewTokens, "max-new-tokens", 64, "most tokens to generate")
	f.Float64Var(&opt.Temperature, "temperature", 0, "sampling temperature; 0 is greedy")
	f.IntVar(&opt.TopK, "top-k", 0, "sample from the K most likely tokens (0: all)")
	f.Float64Var(&opt.TopP, "top-p", 1, "nucleus sampling mass")
	f.Float64Var(&opt.RepetitionPenalty, "repetition-penalty", 1, "penalty for tokens already in the context (1: none)")
	f.Uint64Var(&opt.Seed, "seed", 0, "random seed for sampling")
	f.StringArrayVar(&opt.Stop, "stop", nil, "stop when this text appears (repeatable)")
	f.IntVar(&threads, "threads", 0, "worker threads (0: all cores)")
	return cmd
}
