package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"hotline/daemon/custom"
	"hotline/daemon/store"
)

// Uploads (a prompt, a backup) are multipart forms read as a stream, never held in memory or
// spooled to disk by net/http: the form token must be the first part, so a forged upload is
// refused before its body is read. Each upload route has its own size limit and a longer read
// deadline than the server's ReadTimeout, for a slow phone on Wi-Fi.
const (
	maxPromptUpload = custom.MaxUploadBytes + 64<<10 // the sound file plus the small fields
	maxBackupUpload = 8 << 30
	promptUploadFor = 5 * time.Minute
	backupUploadFor = 2 * time.Hour
)

// uploadRoutes are the paths that take a streamed multipart upload, with their limits.
var uploadRoutes = map[string]struct {
	limit int64
	read  time.Duration
}{
	"/prompts/upload": {maxPromptUpload, promptUploadFor},
	"/flow/prompt":    {maxPromptUpload, promptUploadFor},
	"/backup/restore": {maxBackupUpload, backupUploadFor},
}

type uploadKey struct{}

// isUpload reports whether r posts a multipart form to an upload route.
func isUpload(r *http.Request) bool {
	if _, ok := uploadRoutes[r.URL.Path]; !ok {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// openUpload bounds the body of an upload, extends its read deadline and checks that the
// first part is the session's form token. The multipart reader, positioned after the token,
// goes to the handler in the request's context (see uploadParts).
func (s *Server) openUpload(w http.ResponseWriter, r *http.Request, sess *store.Session) (*http.Request, bool) {
	lim := uploadRoutes[r.URL.Path]
	r.Body = http.MaxBytesReader(w, r.Body, lim.limit)
	// The answer comes after the whole body is read and checked, so both deadlines move (an
	// httptest recorder cannot; a real connection can).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(lim.read))
	_ = rc.SetWriteDeadline(time.Now().Add(lim.read + time.Minute))
	mr, err := r.MultipartReader()
	if err != nil {
		return r, false
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "csrf" {
		return r, false
	}
	token, err := io.ReadAll(io.LimitReader(p, 256))
	if err != nil || !validCSRF(sess, string(token)) {
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), uploadKey{}, mr)), true
}

// uploadForm is what an upload handler reads: the small fields before the file, and the file.
type uploadForm struct {
	Fields map[string]string
	File   *multipart.Part // nil when the form had no file part
}

// errNoUpload means the request was not a streamed multipart upload (or lacked its file).
var errNoUpload = errors.New("no upload in the request")

// readUpload reads the text fields up to the file part named file. The handler reads the file
// from the returned part; fields after it are not read.
func readUpload(r *http.Request, file string) (uploadForm, error) {
	mr, _ := r.Context().Value(uploadKey{}).(*multipart.Reader)
	if mr == nil {
		return uploadForm{}, errNoUpload
	}
	f := uploadForm{Fields: map[string]string{}}
	for len(f.Fields) < 16 {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, errNoUpload
		}
		if err != nil {
			return f, err
		}
		if p.FormName() == file {
			f.File = p
			return f, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, 1024))
		if err != nil {
			return f, err
		}
		f.Fields[p.FormName()] = strings.TrimSpace(string(v))
	}
	return f, errNoUpload
}
