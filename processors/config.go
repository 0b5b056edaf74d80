package processors

import "time"

// RedactConfig masks secrets in the message and in field values.
type RedactConfig struct {
	// Rules names the built-in rules to apply; "default" stands for every
	// rule on by default, so [default, email] adds e-mail addresses. Empty
	// means [default].
	Rules []string `yaml:"rules"`
	// Patterns are extra rules: the first capture group of each match (or
	// the whole match) is masked.
	Patterns []PatternConfig `yaml:"patterns"`
	// Mask replaces a secret; default "***".
	Mask string `yaml:"mask"`
	// A hash key (from a file, or an environment variable) masks a secret
	// with a keyed hash instead, so equal secrets stay correlatable.
	HashKeyFile string `yaml:"hash_key_file"`
	HashKeyEnv  string `yaml:"hash_key_env"`
	// Fields also redacts field values (default true).
	Fields *bool `yaml:"fields"`
	// ReportField names the field listing the rules that fired; default
	// "redacted", "-" to add none.
	ReportField string `yaml:"report_field"`
}

// PatternConfig is a user redaction rule.
type PatternConfig struct {
	Name  string `yaml:"name"`
	Regex string `yaml:"regex"`
}

// SampleConfig keeps 1 record in Rate.
type SampleConfig struct {
	Rate int `yaml:"rate"`
	// Key, a field path, makes the choice a hash of its value: the records
	// of one request are kept or dropped together.
	Key string `yaml:"key"`
	// KeepLevel: records at or above it are always kept; default error,
	// "off" to sample every level.
	KeepLevel string `yaml:"keep_level"`
}

// ThrottleConfig lets at most Limit records per Window through for each key.
type ThrottleConfig struct {
	Limit  int           `yaml:"limit"`
	Window time.Duration `yaml:"window"`
	// Key is a template: {source}, {path}, {format}, {level}, {stream}, or
	// {a.field.path}, with text around them; default "{source}".
	Key string `yaml:"key"`
	// MaxKeys bounds the keys tracked; records of further keys share one
	// overflow key. Default 1000.
	MaxKeys int `yaml:"max_keys"`
	// Excess is what happens to records over the limit: "summarize" (drop
	// them and report their count per key in one record per window, the
	// default) or "drop".
	Excess string `yaml:"excess"`
}

// FieldsConfig edits fields, in this order: rename, add, add_from_env,
// message_from, level_from, remove. Keys are top-level field keys; paths
// (message_from, level_from) may be dotted.
type FieldsConfig struct {
	Rename      map[string]string `yaml:"rename"`
	Add         map[string]string `yaml:"add"`
	AddFromEnv  map[string]string `yaml:"add_from_env"` // field key: environment variable
	MessageFrom string            `yaml:"message_from"`
	LevelFrom   string            `yaml:"level_from"`
	Remove      []string          `yaml:"remove"`
}

// ParseConfig parses the text of the message or a field with a named parser
// or a regex, and merges what it finds into the record.
type ParseConfig struct {
	Field  string `yaml:"field"`  // dotted path; default the message
	Parser string `yaml:"parser"` // a format name (json, logfmt, auto, ...)
	Regex  string `yaml:"regex"`  // or named groups become fields
	Target string `yaml:"target"` // nest the parsed fields under this key; default top level
}
