// Package synth generates realistic, messy synthetic help-desk tickets: the
// input `nebras tickets generate`, `make demo`, the tests and the pipeline
// benchmark feed to the data pipeline.
//
// Each conversation is a support ticket about one of sixteen everyday
// problems (double charges, refunds, returns, login and 2FA
// trouble, late or damaged deliveries, plan changes, cancellations, bug
// reports, account deletion, invoices, declined payments, address changes,
// promo codes) on one of four channels (email, chat, web form, phone
// transcript). Its 2 to 12 turns follow the flow real support dialogues
// have: the customer states the problem, the agent asks for details, the
// customer supplies them, the agent resolves or escalates, with follow-up
// questions, chasers and a closing exchange in longer tickets. Phrasing is
// assembled from templates with alternatives and per-ticket slot values
// (names, order numbers, products, amounts, dates), so no two tickets read
// alike.
//
// # Formats
//
// JSONL (canonical) writes one object per line:
//
//	{"id":"TCK-000123","created_at":"2024-03-04T09:12:00Z","channel":"email","subject":"...",
//	 "turns":[{"role":"customer","text":"...","ts":"2024-03-04T09:12:00Z"}, ...],
//	 "metadata":{...}, ...unknown fields such as "priority", "tags", "assignee"}
//
// created_at is the first turn's ts; ts strictly increase within a ticket.
//
// CSV writes a help-desk export with one message per row under the header
// CSVHeader (ticket_id,created_at,author_role,body,subject,channel), quoted
// per RFC 4180; created_at is the message's time as "2006-01-02 15:04:05"
// (UTC) or RFC 3339, chosen per ticket. A ticket's rows are contiguous
// except for the few that Options.InterleaveRate splits.
//
// For a given seed both formats describe the same tickets with the same ids
// and messages.
//
// # What N counts
//
// Options.N is the number of distinct conversations. Exact duplicates,
// re-imports (the same conversation under a new id) and malformed records
// come on top of N, so a JSONL file holds Report.Lines = N +
// Report.Duplicates + Report.Malformed lines; a pipeline that drops
// malformed records and deduplicates by content ends with exactly N.
//
// # Mess, and its default rates
//
// Every kind of mess is an Options rate, documented there with its unit.
// DefaultOptions sets:
//
//	HTMLRate            0.40  per side of an email ticket: HTML bodies (<p>, <br>, <div>, <b>,
//	                          entities such as &amp; &nbsp; &#64;, Outlook <style> blocks, <blockquote>)
//	SignatureRate       0.60  per mail ticket: customer sign-offs, signature blocks, "Sent from my iPhone"
//	AgentSignatureRate  0.80  per mail ticket: agent signatures naming the company
//	QuoteRate           0.35  per mail reply: quotes the previous message ("On ... wrote:", "-----Original Message-----")
//	DisclaimerRate      0.05  per side of a mail ticket: legal disclaimer footers
//	PIIRate             0.30  per ticket: the customer writes a card, IBAN, email, phone or IP address
//	LookalikeRate       0.30  per ticket: an extra non-PII lookalike (Luhn-failing 16-digit reference, tracking number, ...)
//	ExactDuplicateRate  0.01  per ticket: written twice, identically, within 8 tickets
//	ReimportRate        0.005 per ticket: written again under a new id, within 64 tickets
//	MalformedRate       0.003 per ticket: followed by a malformed record
//	NoAgentReplyRate    0.06  per ticket: customer messages only
//	EmptyTurnRate       0.03  per ticket: a turn that is only a signature, only a quote, or blank
//	UnicodeRate         0.10  per ticket: accented or CJK names, emoji, typographic quotes, £ and €
//	SystemTurnRate      0.10  per ticket: an auto-reply, chat transfer or call notice
//	ExtraFieldsRate     0.40  per JSONL record: unknown top-level fields
//	MetadataRate        0.60  per JSONL record: a free "metadata" object
//	InterleaveRate      0.02  per CSV ticket: rows split across the file
//
// Card numbers are Luhn-valid with real issuer prefixes, grouped or not;
// IBANs carry valid mod-97 check digits for 14 countries; phone numbers come
// in US and international formats. Lookalikes that a redactor must leave
// alone appear throughout: order, invoice and tracking numbers (including
// 22-digit USPS numbers), dates, times, prices, the last four digits of a
// card, app versions, and 16-digit references that fail the Luhn check.
// No PII is written outside turn text: subjects, metadata and unknown
// fields are free of it. Malformed records are listed under
// Report.MalformedKinds; CSV ones never break the quoting, so each is
// confined to its row.
//
// Generate is deterministic (the same Options give the same bytes) and
// streams: it holds one conversation and a small window of deferred
// duplicates, never the whole output, and writes about 2 KB per
// conversation at tens of thousands of conversations per second.
package synth
