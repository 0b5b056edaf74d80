package parsers

import "github.com/obsadapter/obsadapter/record"

// parsePlain is the last resort: the whole line is the message.
func parsePlain(_ *parser, line string, r *record.Record) bool {
	r.Message = trimSpace(line)
	return true
}
