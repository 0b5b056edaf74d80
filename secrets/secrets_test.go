package secrets

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestRedactArgs: real-looking command lines, arguments separated by "|".
// The near-misses at the end must stay readable.
func TestRedactArgs(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// short password flags of well-known clients
		{"mysql -p separate", "mysql|-uroot|-p|hunter4|-h|db", "mysql|-uroot|-p|***|-h|db"},
		{"mysql -p attached", "/usr/bin/mysql|-uroot|-phunter5|shop", "/usr/bin/mysql|-uroot|-p***|shop"},
		{"mysqldump -p attached", "mysqldump|-h|db|-uroot|-phunter6|--all-databases", "mysqldump|-h|db|-uroot|-p***|--all-databases"},
		{"mysqladmin ping", "mysqladmin|-uroot|-phunter7|ping", "mysqladmin|-uroot|-p***|ping"},
		{"mariadb client", "mariadb|-u|app|-p|s3cr3t|app", "mariadb|-u|app|-p|***|app"},
		{"mysql through sudo", "sudo|-u|mysql|mysql|-phunter8", "sudo|-u|mysql|mysql|-p***"},
		{"mysql through env", "env|LANG=C|mysql|-phunter9", "env|LANG=C|mysql|-p***"},
		{"mysql in kubectl exec", "kubectl|exec|-it|db-0|--|mysql|-uroot|-phunter1", "kubectl|exec|-it|db-0|--|mysql|-uroot|-p***"},
		{"mysql in docker exec", "docker|exec|-i|mysql|mysql|-uroot|-psecret", "docker|exec|-i|mysql|mysql|-uroot|-p***"},
		{"mysql -p prompts before a flag", "mysql|-p|-h|db", "mysql|-p|-h|db"},
		{"mysql -p last prompts", "mysql|-uroot|-p", "mysql|-uroot|-p"},
		{"redis-cli -a", "redis-cli|-h|cache|-p|6380|-a|r3dis|ping", "redis-cli|-h|cache|-p|6380|-a|***|ping"},
		{"sshpass -p", "sshpass|-p|s5h|ssh|-p|2222|bob@host", "sshpass|-p|***|ssh|-p|2222|bob@host"},
		{"mongosh -p", "mongosh|--host|mongo|-u|admin|-p|m0ngo", "mongosh|--host|mongo|-u|admin|-p|***"},
		{"ldapsearch -w", "ldapsearch|-x|-D|cn=admin,dc=example,dc=org|-w|ld4p|-b|dc=example,dc=org", "ldapsearch|-x|-D|cn=admin,dc=example,dc=org|-w|***|-b|dc=example,dc=org"},
		{"sqlcmd -P", "/opt/mssql-tools/bin/sqlcmd|-S|localhost|-U|sa|-P|Str0ng!", "/opt/mssql-tools/bin/sqlcmd|-S|localhost|-U|sa|-P|***"},
		{"curl -u user:password", "curl|-u|bob:pa55|https://api.example.com", "curl|-u|bob:***|https://api.example.com"},
		{"curl --user=", "curl|--user=bob:pa55|https://x", "curl|--user=bob:***|https://x"},
		{"docker login -p", "docker|login|-u|ci|-p|dckr_pat_abc|registry.example.com", "docker|login|-u|ci|-p|***|registry.example.com"},
		// long flags
		{"--password=", "app|--password=hunter2", "app|--password=***"},
		{"--password next", "app|--password|hunter2|-v", "app|--password|***|-v"},
		{"--token=", "vault|login|--token=s.abc", "vault|login|--token=***"},
		{"--api-key next", "datadog-agent|--api-key|dd123", "datadog-agent|--api-key|***"},
		{"--secret next", "app|--secret|xyz|--port=80", "app|--secret|***|--port=80"},
		{"-token Go style", "app|-token|abc", "app|-token|***"},
		{"--name starting with a digit", "app|--2fa-token|hunter2|--_secret|x", "app|--2fa-token|***|--_secret|***"},
		{"-number is no flag", "app|-0.key|1", "app|-0.key|1"},
		{"secret flag does not swallow the next secret flag", "app|-token|-password|pw", "app|-token|-password|***"},
		// assignments
		{"PGPASSWORD", "env|PGPASSWORD=pg777|psql|-h|db", "env|PGPASSWORD=***|psql|-h|db"},
		{"MYSQL_PWD", "env|MYSQL_PWD=x1|mysql", "env|MYSQL_PWD=***|mysql"},
		{"lower-case db_password", "app|db_password=x2", "app|db_password=***"},
		{"AWS keys", "env|AWS_ACCESS_KEY_ID=AKIAXX|AWS_SECRET_ACCESS_KEY=wJalr|aws", "env|AWS_ACCESS_KEY_ID=***|AWS_SECRET_ACCESS_KEY=***|aws"},
		{"GITHUB_TOKEN", "env|GITHUB_TOKEN=ghp_abc|gh", "env|GITHUB_TOKEN=***|gh"},
		{"API_KEY and APIKEY", "app|API_KEY=k1|APIKEY=k2|ApiKey=k3", "app|API_KEY=***|APIKEY=***|ApiKey=***"},
		{"PRIVATE_KEY", "app|TLS_PRIVATE_KEY=-----BEGIN", "app|TLS_PRIVATE_KEY=***"},
		{"numbered password", "app|DB_PASSWORD2=x3", "app|DB_PASSWORD2=***"},
		{"query string", "curl|https://api.example.com/v1?user=bob&access_token=abc&x=1", "curl|https://api.example.com/v1?user=bob&access_token=***&x=1"},
		{"mount options", "mount|-o|username=bob,password=smb1,vers=3|//srv/share|/mnt", "mount|-o|username=bob,password=***,vers=3|//srv/share|/mnt"},
		{"quoted value in sh -c", "sh|-c|app --password='hunter 2' --v", "sh|-c|app --password='***' --v"},
		// Java properties
		{"-Dpassword", "java|-Dpassword=jp555|-jar|app.jar", "java|-Dpassword=***|-jar|app.jar"},
		{"-D keyStorePassword", "java|-Djavax.net.ssl.keyStorePassword=changeit|-jar|a.jar", "java|-Djavax.net.ssl.keyStorePassword=***|-jar|a.jar"},
		{"-D spring datasource", "java|-Dspring.datasource.password=pw|-jar|x.jar", "java|-Dspring.datasource.password=***|-jar|x.jar"},
		// JSON and YAML
		{"JSON argument", `app|--config|{"user":"bob","password":"js666"}`, `app|--config|{"user":"bob","password":"***"}`},
		{"JSON nested and escaped", `app|{"db":{"pass":"a\"b","port":5432},"apiKey":"k"}`, `app|{"db":{"pass":"***","port":5432},"apiKey":"***"}`},
		{"JSON array of tokens", `app|{"token":["t1","t2"],"hosts":["a","b"]}`, `app|{"token":[***],"hosts":["a","b"]}`},
		{"keytool store passwords", "keytool|-importkeystore|-srcstorepass|s1|-deststorepass|d1", "keytool|-importkeystore|-srcstorepass|***|-deststorepass|***"},
		{"YAML argument", "app|--set|password: y4ml", "app|--set|password: ***"},
		{"YAML flow mapping", "app|{token: t0k, user: bob}", "app|{token: ***, user: bob}"},
		// URLs
		{"postgres URL", "app|postgres://user:pw@db:5432/app", "app|postgres://user:***@db:5432/app"},
		{"password with @", "app|--dsn=mysql://root:p@ss@db/app", "app|--dsn=mysql://root:***@db/app"},
		{"redis URL, no user", "app|redis://:r3d@cache:6379/0", "app|redis://:***@cache:6379/0"},
		// headers
		{"curl bearer header", "curl|-H|Authorization: Bearer eyJhbGciOi|https://api", "curl|-H|Authorization: Bearer ***|https://api"},
		{"wget basic header", "wget|--header=Authorization: Basic dXNlcjpw|http://x", "wget|--header=Authorization: Basic ***|http://x"},
		{"header in sh -c", "sh|-c|curl -sf -H 'Authorization: token ghp_1' https://api && echo ok", "sh|-c|curl -sf -H 'Authorization: token ***' https://api && echo ok"},
		{"api key header", "curl|-H|X-Api-Key: k3y|https://api", "curl|-H|X-Api-Key: ***|https://api"},
		{"cookie header", "curl|-H|Cookie: session=abc; theme=dark|https://x", "curl|-H|Cookie: ***|https://x"},
		// shell scripts
		{"mysql in sh -c", "sh|-c|mysqldump -uroot -phunter5 shop > /tmp/shop.sql", "sh|-c|mysqldump -uroot -p*** shop > /tmp/shop.sql"},
		{"mysql -p quoted in sh -c", `bash|-c|mysql -p"hunter 6" -e 'select 1'`, `bash|-c|mysql -p*** -e 'select 1'`},
		{"flag value in sh -c", "sh|-c|app --token abc123 serve; ssh -p 2222 host", "sh|-c|app --token *** serve; ssh -p 2222 host"},
		// near-misses: stay readable
		{"ssh -p is a port", "ssh|-p|2222|bob@host", "ssh|-p|2222|bob@host"},
		{"redis-cli -p is a port", "redis-cli|-p|6379|ping", "redis-cli|-p|6379|ping"},
		{"docker run -p is a port", "docker|run|--name|mysql|-p|3306:3306|mysql:8", "docker|run|--name|mysql|-p|3306:3306|mysql:8"},
		{"mysql -P is a port", "mysql|-h|db|-P|3306|-uapp", "mysql|-h|db|-P|3306|-uapp"},
		{"KEYBOARD", "env|KEYBOARD=us|KEYMAP=de|app", "env|KEYBOARD=us|KEYMAP=de|app"},
		{"PWD and OLDPWD", "env|PWD=/srv/app|OLDPWD=/|app", "env|PWD=/srv/app|OLDPWD=/|app"},
		{"PWD_DIR is a directory", "env|PWD_DIR=/srv|app", "env|PWD_DIR=/srv|app"},
		{"password file", "env|POSTGRES_PASSWORD_FILE=/run/secrets/pg|--token-file=/var/run/token|postgres", "env|POSTGRES_PASSWORD_FILE=/run/secrets/pg|--token-file=/var/run/token|postgres"},
		{"passwordless flag", "app|--passwordless-flag|--passwordless=true", "app|--passwordless-flag|--passwordless=true"},
		{"no-password is a switch", "pg_dump|--no-password|-h|db|app", "pg_dump|--no-password|-h|db|app"},
		{"password-stdin", "docker|login|--password-stdin|-u|ci|ghcr.io", "docker|login|--password-stdin|-u|ci|ghcr.io"},
		{"file.encoding", "java|-Dfile.encoding=UTF-8|-Xmx512m|-jar|app.jar", "java|-Dfile.encoding=UTF-8|-Xmx512m|-jar|app.jar"},
		{"JSON without secrets", `app|{"user":"bob","level":"info","port":8080}`, `app|{"user":"bob","level":"info","port":8080}`},
		{"URL without credentials", "app|https://example.com:8443/path?q=1|ssh://bob@host", "app|https://example.com:8443/path?q=1|ssh://bob@host"},
		{"key-ish words", "app|--keyspace=main|monkey=banana|--key-file=/etc/tls.key", "app|--keyspace=main|monkey=banana|--key-file=/etc/tls.key"},
		{"max tokens", "llm|--max-tokens=512|SSH_AUTH_SOCK=/tmp/agent", "llm|--max-tokens=512|SSH_AUTH_SOCK=/tmp/agent"},
		{"curl -u without password", "curl|-u|bob|https://x", "curl|-u|bob|https://x"},
		{"program path with token", "/opt/token-service/bin/server|-v", "/opt/token-service/bin/server|-v"},
		{"nginx", "nginx:|worker|process", "nginx:|worker|process"},
		{"empty value", "app|--password=", "app|--password="},
		{"secret flag last", "app|--password", "app|--password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Split(tc.in, "|")
			orig := append([]string(nil), in...)
			got := RedactArgs(in)
			if g := strings.Join(got, "|"); g != tc.want {
				t.Errorf("\n got %s\nwant %s", g, tc.want)
			}
			if !reflect.DeepEqual(in, orig) {
				t.Errorf("input modified: %q", in)
			}
			if again := RedactArgs(got); !reflect.DeepEqual(again, got) {
				t.Errorf("not idempotent: %q", again)
			}
		})
	}
}

func TestRuleExamples(t *testing.T) {
	for _, r := range Rules {
		if got := r.Text(r.Example); got != r.Redacted {
			t.Errorf("%s: Text(%q) = %q, want %q", r.Name, r.Example, got, r.Redacted)
		}
		if r.Optional {
			if got := RedactText(r.Example); got != r.Example {
				t.Errorf("%s is optional, but RedactText(%q) = %q", r.Name, r.Example, got)
			}
			continue
		}
		if got := RedactText(r.Example); got != r.Redacted {
			t.Errorf("%s: RedactText(%q) = %q, want %q", r.Name, r.Example, got, r.Redacted)
		}
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"connecting with password=hunter2 to db", "connecting with password=*** to db"},
		{`msg="login" token="abc def" user=bob`, `msg="login" token="***" user=bob`},
		{"request with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "request with Bearer ***"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln in a line", "jwt *** in a line"},
		{"uses bearer tokens", "uses bearer tokens"},
		{"dial postgres://app:pw@db/app failed", "dial postgres://app:***@db/app failed"},
		{"nothing to see here: 42", "nothing to see here: 42"},
		{`exec: sh -c 'mysql -uroot -phunter5 -e "select 1"' failed`, `exec: sh -c 'mysql -uroot -p*** -e "select 1"' failed`},
		{`running "app --token t0k serve"`, `running "app --token *** serve"`},
	}
	for _, tc := range tests {
		if got := RedactText(tc.in); got != tc.want {
			t.Errorf("RedactText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestIsSecretName(t *testing.T) {
	yes := []string{"password", "PGPASSWORD", "MYSQL_PWD", "db_password", "--api-key", "X-Api-Key", "keyStorePassword",
		"javax.net.ssl.trustStorePassword", "client_secret", "AUTH_TOKEN", "APIKey", "ssh.privateKey", "Authorization", "key"}
	no := []string{"KEYBOARD", "PWD", "OLDPWD", "PWD_DIR", "password_file", "keyspace", "monkey", "key_file", "max_tokens",
		"file.encoding", "SSH_AUTH_SOCK", "passwordless", "user", ""}
	for _, n := range yes {
		if !IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = false", n)
		}
	}
	for _, n := range no {
		if IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = true", n)
		}
	}
}

func TestMaskMatches(t *testing.T) {
	if got := MaskMatches("--stripe sk_live_abc123", regexp.MustCompile(`sk_live_[A-Za-z0-9]+`)); got != "--stripe ***" {
		t.Errorf("whole match: %q", got)
	}
	if got := MaskMatches("--license ABCD-1234 --v", regexp.MustCompile(`--license (\S+)`)); got != "--license *** --v" {
		t.Errorf("group: %q", got)
	}
}

// plantedSecret never occurs in the fuzzer's own bytes (checked) and must
// never survive redaction wherever it is planted.
const plantedSecret = "Zq7hunter42"

// plants are password-flag forms; "@S@" is replaced by plantedSecret. Each is
// preceded by ";" so that the program word starts a command.
var plants = [][]string{
	{"--password", "@S@"}, {"--password=@S@"}, {"-token", "@S@"}, {"--api-key", "@S@"}, {"--secret=@S@"},
	{"PGPASSWORD=@S@"}, {"MYSQL_PWD=@S@"}, {"db_password=@S@"}, {"-Dpassword=@S@"}, {"-Djavax.net.ssl.keyStorePassword=@S@"},
	{`{"password":"@S@"}`}, {"password: @S@"}, {"postgres://u:@S@@h/db"}, {"Authorization: Bearer @S@"},
	{";", "mysql", "-p@S@"}, {";", "mysql", "-p", "@S@"}, {";", "mysqldump", "-uroot", "-p@S@"}, {";", "redis-cli", "-a", "@S@"},
	{";", "sshpass", "-p", "@S@"}, {";", "curl", "-u", "bob:@S@"}, {"sh", "-c", "mysql -uroot -p@S@ db"},
}

func FuzzRedactArgs(f *testing.F) {
	f.Add("mysql\x00-psecret\x00--token=abc\x00https://a:b@c", uint(0), uint(1))
	f.Add("ssh\x00-p\x002222\x00KEYBOARD=us", uint(3), uint(14))
	f.Add(`app`+"\x00"+`{"password":"x","a":[1,{"token":"y"}]}`, uint(1), uint(10))
	f.Add("sh\x00-c\x00curl -H 'Authorization: Bearer x' && mysql -p'a b'", uint(2), uint(20))
	f.Add("-token\x00--password\x00'\x00\"", uint(1), uint(2))
	f.Fuzz(func(t *testing.T, s string, pos, form uint) {
		in := strings.Split(s, "\x00")
		out := RedactArgs(in)
		if len(out) != len(in) {
			t.Fatalf("%d arguments became %d", len(in), len(out))
		}
		for i := range out {
			// Only masks: out[i] without its '*' is a subsequence of in[i]
			// without its '*', so nothing is invented or reordered.
			if !isSubsequence(strings.ReplaceAll(out[i], "*", ""), strings.ReplaceAll(in[i], "*", "")) {
				t.Fatalf("argument %d: %q became %q", i, in[i], out[i])
			}
			if len(out[i]) > 3*len(in[i]) {
				t.Fatalf("argument %d grew more than 3x: %q → %q", i, in[i], out[i])
			}
		}
		if again := RedactArgs(out); !reflect.DeepEqual(again, out) {
			t.Fatalf("not idempotent:\n in %q\nonce %q\ntwice %q", in, out, again)
		}
		text := RedactText(s)
		if again := RedactText(text); again != text {
			t.Fatalf("RedactText not idempotent:\n in %q\nonce %q\ntwice %q", s, text, again)
		}

		if strings.Contains(strings.ToLower(s), "zq7") {
			return
		}
		plant := plants[form%uint(len(plants))]
		at := int(pos % uint(len(in)+1))
		argv := append([]string(nil), in[:at]...)
		for _, p := range plant {
			argv = append(argv, strings.ReplaceAll(p, "@S@", plantedSecret))
		}
		argv = append(argv, in[at:]...)
		for i, a := range RedactArgs(argv) {
			if strings.Contains(a, plantedSecret) {
				t.Fatalf("planted secret survived in argument %d: %q\nargv %q", i, a, argv)
			}
		}
	})
}

func isSubsequence(sub, s string) bool {
	j := 0
	for i := 0; i < len(s) && j < len(sub); i++ {
		if s[i] == sub[j] {
			j++
		}
	}
	return j == len(sub)
}

func BenchmarkRedactArgs(b *testing.B) {
	args := []string{"/usr/bin/app", "--listen=:8080", "--db-password=hunter2", "postgres://bob:s3cret@db/app", "-v"}
	b.ReportAllocs()
	for b.Loop() {
		RedactArgs(args)
	}
}
