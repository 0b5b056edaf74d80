package collector

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// TapOptions are the flags of `obsadapter tap`.
type TapOptions struct {
	Addr            string // the adapter's http.listen, as a URL or host:port
	Source          string // "" for every source
	Level           string // "" for every level, else at or above it
	AfterProcessors bool   // the processed stage instead of the parsed one
	Duration        time.Duration
	Limit           int // 0: no limit

	// For an adapter behind a web config file.
	Username, PasswordFile string
	CAFile                 string
	InsecureSkipVerify     bool
}

// Tap streams a running adapter's records to out, one JSON record per line,
// and says on notes when records were dropped for the tap. It returns nil
// when the stream ended as asked (duration or limit) or ctx ended (the user
// pressed Ctrl-C), and an error a person can act on otherwise.
func Tap(ctx context.Context, o TapOptions, out, notes io.Writer) error {
	u, err := tapURL(o)
	if err != nil {
		return err
	}
	client, err := tapClient(o)
	if err != nil {
		return err
	}
	// The server ends the stream after the duration; the margin only keeps
	// a wedged server from holding the command forever.
	stopped := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Duration+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if o.Username != "" {
		pw, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		req.SetBasicAuth(o.Username, strings.TrimRight(string(pw), "\r\n"))
	}
	resp, err := client.Do(req)
	if err != nil {
		if stopped.Err() != nil {
			return nil // the user stopped it before it began
		}
		return fmt.Errorf("cannot reach the adapter at %s: %w", o.Addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("the adapter at %s refused the tap: %s: %s", o.Addr, resp.Status, strings.TrimSpace(string(body)))
	}

	w := bufio.NewWriter(out)
	defer w.Flush()
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	records := 0
	for {
		line, err := readLine(r)
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if bytes.HasPrefix(line, []byte(`{"tap":`)) {
				var n tapNote
				if jerr := json.Unmarshal(line, &n); jerr != nil {
					return fmt.Errorf("the adapter sent a note this command does not understand: %s", bytes.TrimSpace(line))
				}
				switch n.Tap {
				case "dropped":
					w.Flush()
					fmt.Fprintf(notes, "obsadapter tap: %d records dropped for this tap (records flow faster than it reads; what is shown is a sample)\n", n.Count)
				case "end":
					if n.Reason == "shutdown" {
						return fmt.Errorf("the adapter is shutting down; the tap ended after %d records", records)
					}
					return nil
				}
				continue
			}
			records++
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
			// Flush when nothing more has arrived, so a pipe into jq or
			// grep sees records as they come, not once a buffer is full.
			if r.Buffered() == 0 {
				if werr := w.Flush(); werr != nil {
					return werr
				}
			}
		}
		if err != nil {
			if stopped.Err() != nil {
				return nil // the user stopped it
			}
			return fmt.Errorf("the stream from %s stopped after %d records without its end: the adapter stopped or the connection broke (%v)", o.Addr, records, err)
		}
	}
}

// tapURL builds the request URL: the adapter's base address, the path and
// the filters as query parameters.
func tapURL(o TapOptions) (*url.URL, error) {
	addr := o.Addr
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--addr: %q is not an address such as http://127.0.0.1:9725 or 127.0.0.1:9725", o.Addr)
	}
	if o.Duration <= 0 || o.Duration > tapMaxDuration {
		return nil, fmt.Errorf("--duration: %s is outside (0, %s]; a tap lasts at most %s", o.Duration, tapMaxDuration, tapMaxDuration)
	}
	if o.Limit < 0 {
		return nil, fmt.Errorf("--limit: %d is negative", o.Limit)
	}
	if o.Username == "" && o.PasswordFile != "" {
		return nil, errors.New("--password-file needs --username")
	}
	q := url.Values{}
	q.Set("duration", o.Duration.String())
	q.Set("stage", tapParsed.String())
	if o.AfterProcessors {
		q.Set("stage", tapProcessed.String())
	}
	if o.Source != "" {
		q.Set("source", o.Source)
	}
	if o.Level != "" {
		q.Set("level", o.Level)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/tap"
	u.RawQuery = q.Encode()
	return u, nil
}

// tapClient is an HTTP client with timeouts for connecting and for the
// answer's headers, but none for the body: the stream lasts the duration.
func tapClient(o TapOptions) (*http.Client, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	if o.CAFile != "" || o.InsecureSkipVerify {
		tc := &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-file: %s holds no PEM certificate", o.CAFile)
			}
		}
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr}, nil
}

// tapMaxLine bounds one line of the stream the command holds in memory; a
// record is at most max_line_bytes of text, escaped.
const tapMaxLine = 64 << 20

// readLine reads up to and including the next newline. The line is valid
// until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		frag, err := r.ReadSlice('\n')
		if err != bufio.ErrBufferFull {
			if long == nil {
				return frag, err
			}
			return append(long, frag...), err
		}
		if len(long)+len(frag) > tapMaxLine {
			return nil, fmt.Errorf("a line of the stream is longer than %d MiB", tapMaxLine>>20)
		}
		long = append(long, frag...)
	}
}
