// Package transforms holds the pure, per-record logic of the data pipeline:
// parsing tickets, cleaning and redacting text, filtering, dedup keys,
// turning conversations into training examples, and assigning splits.
//
// Nothing here knows about Apache Beam; pipelines/ wraps these functions in
// DoFns, and the plain-loop benchmark calls them directly, so both paths run
// exactly the same code.
package transforms

import "encoding/json"

// Role is who wrote a turn.
type Role string

// The roles a conversation may contain. Anything else is rejected at parse time.
const (
	RoleCustomer Role = "customer"
	RoleAgent    Role = "agent"
	RoleSystem   Role = "system"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleCustomer || r == RoleAgent || r == RoleSystem
}

// Turn is one message of a conversation.
type Turn struct {
	Role Role   `json:"role"`
	Text string `json:"text"`
	// TS is the message timestamp as given in the input (RFC 3339 when it
	// parses); it is carried, not interpreted, except to order CSV rows.
	TS string `json:"ts,omitempty"`
}

// Conversation is one support ticket in the canonical shape.
type Conversation struct {
	ID        string `json:"id"`
	Turns     []Turn `json:"turns"`
	CreatedAt string `json:"created_at,omitempty"`
	Channel   string `json:"channel,omitempty"`
	Subject   string `json:"subject,omitempty"`
	// Metadata holds the input's free "metadata" object merged with every
	// top-level field the schema does not know, so nothing a help desk
	// exported is silently dropped at parse time.
	Metadata map[string]json.RawMessage `json:"metadata,omitempty"`
}

// Source says where a record came from, for dead-letter reports.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line"`
}
