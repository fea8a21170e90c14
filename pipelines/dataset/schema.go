package dataset

// Row is one example as stored in Parquet. Column names are the contract
// with readers (training, eval, Arrow/pandas users); keep them stable and
// bump SchemaVersion when they change.
//
//	example_id       string        "<conversation_id>#<turn_index>", unique; the Nth
//	                               distinct conversation sharing an id gets "<id>~N#<turn>"
//	conversation_id  string        the ticket id
//	split            string        train | val | test (constant per file)
//	turn_index       int32         index of the agent turn in the cleaned conversation
//	input_ids        list<int32>   prompt ids followed by reply ids and <|endoftext|>
//	target_start     int32         first reply position; loss mask = positions >= target_start
//	n_tokens         int32         len(input_ids)
//	context          string        decoded prompt (after left truncation), ends with "Agent:"
//	reply            string        the agent's reply text (cleaned, redacted)
//	truncated        bool          older context was cut to fit max_seq_len
type Row struct {
	ExampleID      string  `parquet:"example_id"`
	ConversationID string  `parquet:"conversation_id"`
	Split          string  `parquet:"split,dict"`
	TurnIndex      int32   `parquet:"turn_index"`
	InputIDs       []int32 `parquet:"input_ids,list"`
	TargetStart    int32   `parquet:"target_start"`
	NTokens        int32   `parquet:"n_tokens"`
	Context        string  `parquet:"context"`
	Reply          string  `parquet:"reply"`
	Truncated      bool    `parquet:"truncated"`
}

// Columns lists the Parquet column names in schema order.
var Columns = []string{
	"example_id", "conversation_id", "split", "turn_index", "input_ids",
	"target_start", "n_tokens", "context", "reply", "truncated",
}
