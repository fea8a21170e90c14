// Package metrics scores generated replies against references: BLEU as
// sacreBLEU computes it, ROUGE as rouge-score does, and reply statistics.
package metrics
