package procinfo

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		in    string // arguments separated by "|"
		want  string
	}{
		{"password flag with =", nil, "app|--password=hunter2", "app|--password=***"},
		{"prefixed password flag", nil, "app|--db-password=hunter2|--port=5432", "app|--db-password=***|--port=5432"},
		{"password flag, value next", nil, "app|--password|hunter2|-v", "app|--password|***|-v"},
		{"single-dash token, value next", nil, "app|-token|abc", "app|-token|***"},
		{"api key flag", nil, "app|--api-key|abc", "app|--api-key|***"},
		{"token= in an argument", nil, "app|token=abc", "app|token=***"},
		{"key= in an argument", nil, "app|key=abc", "app|key=***"},
		{"env-style assignment", nil, "env|AWS_SECRET_ACCESS_KEY=wJalr|DB_PASSWORD=x|app", "env|AWS_SECRET_ACCESS_KEY=***|DB_PASSWORD=***|app"},
		{"secret flag", nil, "app|--client-secret=s", "app|--client-secret=***"},
		{"query string in a URL", nil, "curl|https://api.example.com/v1?user=bob&access_token=abc&x=1", "curl|https://api.example.com/v1?user=bob&access_token=***&x=1"},
		{"URL with user and password", nil, "app|postgres://bob:s3cret@db:5432/app", "app|postgres://bob:***@db:5432/app"},
		{"URL with user only is kept", nil, "app|ssh://bob@host", "app|ssh://bob@host"},
		{"bearer header", nil, "curl|-H|Authorization: Bearer eyJhbGciOi", "curl|-H|Authorization: Bearer ***"},
		{"inside sh -c", nil, "sh|-c|mysql --password=x -h db && echo token=y", "sh|-c|mysql --password=*** -h db && echo token=***"},
		{"mysql -p attached", nil, "/usr/bin/mysql|-uroot|-psecret|db", "/usr/bin/mysql|-uroot|-p***|db"},
		// "mysql -p db" prompts and names the database db, but "mysql -p
		// hunter4" is how passwords reach process lists (issue 15): the word
		// after a bare -p is masked unless it is a flag.
		{"mysql -p, value next", nil, "mysql|-p|hunter4", "mysql|-p|***"},
		{"mysql -p before a flag prompts", nil, "mysql|-p|-h|db", "mysql|-p|-h|db"},
		{"mysql -p attached, short", nil, "mysql|-phunter5", "mysql|-p***"},
		{"PGPASSWORD assignment", nil, "env|PGPASSWORD=pg777|psql", "env|PGPASSWORD=***|psql"},
		{"MYSQL_PWD assignment", nil, "env|MYSQL_PWD=x|mysql", "env|MYSQL_PWD=***|mysql"},
		{"java -Dpassword", nil, "java|-Dpassword=jp555|-jar|a.jar", "java|-Dpassword=***|-jar|a.jar"},
		{"JSON argument", nil, `app|{"password":"js666"}`, `app|{"password":"***"}`},
		{"keyboard layout is kept", nil, "env|KEYBOARD=us|app", "env|KEYBOARD=us|app"},
		{"sshpass -p", nil, "sshpass|-p|secret|ssh|host", "sshpass|-p|***|ssh|host"},
		{"redis-cli -a", nil, "redis-cli|-a|secret|ping", "redis-cli|-a|***|ping"},
		{"ssh -p is a port", nil, "ssh|-p|2222|host", "ssh|-p|2222|host"},
		{"redis-cli -p is a port", nil, "redis-cli|-p|6379", "redis-cli|-p|6379"},
		{"words containing key are kept", nil, "app|--keyspace=main|monkey=banana|--key-file=/etc/tls.key", "app|--keyspace=main|monkey=banana|--key-file=/etc/tls.key"},
		{"secret-looking program path is kept", nil, "/opt/token-service/bin/server|-v", "/opt/token-service/bin/server|-v"},
		{"nothing to redact", nil, "sleep|300", "sleep|300"},
		{"several in one argument", nil, "curl|https://x/?key=a&token=b&page=2", "curl|https://x/?key=***&token=***&page=2"},
		{"blanks around the separator", nil, "sh|-c|export TOKEN = abc; run", "sh|-c|export TOKEN = ***; run"},
		{"colon separator, upper case", nil, "app|PASSWORD:abc", "app|PASSWORD:***"},
		{"empty value", nil, "app|--password=", "app|--password="},
		{"basic auth flag", nil, "app|--basic-auth=user:pw", "app|--basic-auth=***"},
		{"secret flag as last argument", nil, "app|--password", "app|--password"},
		{"dotted key", nil, "java|-Dspring.datasource.password=pw|-jar|x.jar", "java|-Dspring.datasource.password=***|-jar|x.jar"},
		{"configured pattern, whole match", []string{`sk_live_[A-Za-z0-9]+`}, "app|--stripe|sk_live_abc123", "app|--stripe|***"},
		{"configured pattern, first group", []string{`--license (\S+)`}, "app|--license ABCD-1234 --v", "app|--license *** --v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newRedactor(tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			in := strings.Split(tc.in, "|")
			orig := append([]string(nil), in...)
			got := strings.Join(r.redact(in), "|")
			if got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if !reflect.DeepEqual(in, orig) {
				t.Errorf("input modified: %q", in)
			}
		})
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("mysql\x00-psecret\x00--token=abc\x00https://a:b@c")
	r, _ := newRedactor(nil)
	f.Fuzz(func(t *testing.T, s string) {
		_ = r.redact(strings.Split(s, "\x00"))
	})
}
