package blob

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/storage"
)

// listTime is the service's time format in list bodies (RFC 1123, GMT).
func listTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// metadataXML renders metadata as elements named by their keys.
type metadataXML map[string]string

func (m metadataXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for k, v := range m {
		if err := e.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type containerXML struct {
	Name       string `xml:"Name"`
	Properties struct {
		LastModified string `xml:"Last-Modified"`
		ETag         string `xml:"Etag"`
		LeaseStatus  string `xml:"LeaseStatus"`
		LeaseState   string `xml:"LeaseState"`
		Immutability bool   `xml:"HasImmutabilityPolicy"`
		LegalHold    bool   `xml:"HasLegalHold"`
	} `xml:"Properties"`
	Metadata *metadataXML `xml:"Metadata,omitempty"`
}

type containersXML struct {
	XMLName    xml.Name       `xml:"EnumerationResults"`
	Endpoint   string         `xml:"ServiceEndpoint,attr"`
	Prefix     string         `xml:"Prefix,omitempty"`
	Marker     string         `xml:"Marker,omitempty"`
	MaxResults int            `xml:"MaxResults,omitempty"`
	Containers []containerXML `xml:"Containers>Container"`
	NextMarker string         `xml:"NextMarker"`
}

type blobXML struct {
	Name       string `xml:"Name"`
	Properties struct {
		CreationTime       string `xml:"Creation-Time"`
		LastModified       string `xml:"Last-Modified"`
		ETag               string `xml:"Etag"`
		ContentLength      int64  `xml:"Content-Length"`
		ContentType        string `xml:"Content-Type"`
		ContentEncoding    string `xml:"Content-Encoding"`
		ContentLanguage    string `xml:"Content-Language"`
		ContentMD5         string `xml:"Content-MD5"`
		ContentDisposition string `xml:"Content-Disposition"`
		CacheControl       string `xml:"Cache-Control"`
		BlobType           string `xml:"BlobType"`
		AccessTier         string `xml:"AccessTier"`
		AccessTierInferred bool   `xml:"AccessTierInferred"`
		LeaseStatus        string `xml:"LeaseStatus"`
		LeaseState         string `xml:"LeaseState"`
		ServerEncrypted    bool   `xml:"ServerEncrypted"`
	} `xml:"Properties"`
	Metadata *metadataXML `xml:"Metadata,omitempty"`
}

type blobPrefixXML struct {
	Name string `xml:"Name"`
}

type blobsXML struct {
	XMLName    xml.Name `xml:"EnumerationResults"`
	Endpoint   string   `xml:"ServiceEndpoint,attr"`
	Container  string   `xml:"ContainerName,attr"`
	Prefix     string   `xml:"Prefix,omitempty"`
	Marker     string   `xml:"Marker,omitempty"`
	MaxResults int      `xml:"MaxResults,omitempty"`
	Delimiter  string   `xml:"Delimiter,omitempty"`
	Blobs      struct {
		Items    []blobXML       `xml:"Blob"`
		Prefixes []blobPrefixXML `xml:"BlobPrefix"`
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

func (c *call) writeXML(status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(status)
	_, _ = c.w.Write([]byte(xml.Header))
	_, _ = c.w.Write(b)
	return nil
}

// listPage reads a listing's maxresults (default and cap 5000, as the
// service) and the name its marker resumes after.
func (c *call) listPage() (limit int, after string, err error) {
	limit = 5000
	if v := c.q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, "", errorf(http.StatusBadRequest, CodeOutOfRangeInput, "One of the request inputs is out of range: maxresults=%q.", v)
		}
		limit = min(n, 5000)
	}
	after, err = decodeMarker(c.q.Get("marker"))
	return limit, after, err
}

// Markers are opaque to clients: the base64 of the name to list after.
func encodeMarker(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func decodeMarker(m string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return "", errorf(http.StatusBadRequest, CodeInvalidQueryParameter, "The marker %q is not one this service returned.", m)
	}
	return string(b), nil
}

func (c *call) includes(what string) bool {
	for _, v := range strings.Split(c.q.Get("include"), ",") {
		if strings.EqualFold(strings.TrimSpace(v), what) {
			return true
		}
	}
	return false
}

func (c *call) listContainers() error {
	if err := c.need(ActionContainerRead, false); err != nil {
		return err
	}
	limit, after, err := c.listPage()
	if err != nil {
		return err
	}
	prefix := c.q.Get("prefix")
	items, err := c.h.cfg.Svc.Containers(c.ctx(), c.account.Name, prefix, after, limit+1)
	if err != nil {
		return err
	}
	out := containersXML{Endpoint: c.h.cfg.Svc.Hosts.URL(c.account.Name), Prefix: prefix, Marker: c.q.Get("marker"), MaxResults: limit, Containers: []containerXML{}}
	if c.q.Get("maxresults") == "" {
		out.MaxResults = 0
	}
	if len(items) > limit {
		items = items[:limit]
		out.NextMarker = encodeMarker(items[len(items)-1].Name)
	}
	for _, it := range items {
		x := containerXML{Name: it.Name}
		x.Properties.LastModified, x.Properties.ETag = listTime(it.UpdatedAt), it.ETag
		x.Properties.LeaseStatus, x.Properties.LeaseState = "unlocked", "available"
		if c.includes("metadata") {
			md := metadataXML(it.Metadata)
			x.Metadata = &md
		}
		out.Containers = append(out.Containers, x)
	}
	return c.writeXML(http.StatusOK, out)
}

// lastRune sorts after every character of a valid name: a listing that
// collapsed a prefix resumes after everything under it.
const lastRune = "\U0010FFFF"

func (c *call) listBlobs() error {
	if err := c.need(ActionBlobRead, true); err != nil {
		return err
	}
	if _, err := c.h.cfg.Svc.Container(c.ctx(), c.account.Name, c.container); err != nil {
		return err
	}
	limit, after, err := c.listPage()
	if err != nil {
		return err
	}
	prefix, delim := c.q.Get("prefix"), c.q.Get("delimiter")
	out := blobsXML{Endpoint: c.h.cfg.Svc.Hosts.URL(c.account.Name), Container: c.container, Prefix: prefix, Marker: c.q.Get("marker"), Delimiter: delim}
	if c.q.Get("maxresults") != "" {
		out.MaxResults = limit
	}
	out.Blobs.Items, out.Blobs.Prefixes = []blobXML{}, []blobPrefixXML{}
	withMD := c.includes("metadata")
	emitted := 0
	for emitted < limit {
		batch, err := c.h.cfg.Svc.store.ListBlobs(c.ctx(), c.account.Name, c.container, prefix, after, min(limit-emitted+1, 1000))
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		refetch := false
		for _, b := range batch {
			if emitted == limit {
				break
			}
			if delim != "" {
				if i := strings.Index(b.Name[len(prefix):], delim); i >= 0 {
					p := b.Name[:len(prefix)+i+len(delim)]
					out.Blobs.Prefixes = append(out.Blobs.Prefixes, blobPrefixXML{Name: p})
					emitted++
					after, refetch = p+lastRune, true
					break
				}
			}
			out.Blobs.Items = append(out.Blobs.Items, toBlobXML(b, withMD))
			emitted++
			after = b.Name
		}
		if !refetch && len(batch) < min(limit-emitted+1, 1000) && emitted < limit {
			break
		}
	}
	if emitted == limit {
		more, err := c.h.cfg.Svc.store.ListBlobs(c.ctx(), c.account.Name, c.container, prefix, after, 1)
		if err != nil {
			return err
		}
		if len(more) > 0 {
			out.NextMarker = encodeMarker(after)
		}
	}
	return c.writeXML(http.StatusOK, out)
}

func toBlobXML(b storage.Blob, withMD bool) blobXML {
	x := blobXML{Name: b.Name}
	p := &x.Properties
	p.CreationTime, p.LastModified, p.ETag, p.ContentLength = listTime(b.CreatedAt), listTime(b.UpdatedAt), b.ETag, b.Size
	p.ContentType, p.ContentEncoding, p.ContentLanguage = b.Props.ContentType, b.Props.ContentEncoding, b.Props.ContentLanguage
	p.ContentDisposition, p.CacheControl = b.Props.ContentDisposition, b.Props.CacheControl
	if len(b.Props.ContentMD5) > 0 {
		p.ContentMD5 = base64.StdEncoding.EncodeToString(b.Props.ContentMD5)
	}
	p.BlobType, p.AccessTier, p.AccessTierInferred = "BlockBlob", "Hot", true
	p.LeaseStatus, p.LeaseState, p.ServerEncrypted = "unlocked", "available", true
	if withMD {
		md := metadataXML(b.Metadata)
		x.Metadata = &md
	}
	return x
}

// etagMatches compares an If-Match / If-None-Match list with etag.
func etagMatches(list, etag string) bool {
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || v == etag || "\""+v+"\"" == etag {
			return true
		}
	}
	return false
}

// readConditions checks a read's conditional headers: notModified is a 304.
func readConditions(r *http.Request, b storage.Blob) (notModified bool, err error) {
	h := r.Header
	if v := h.Get("If-Match"); v != "" && !etagMatches(v, b.ETag) {
		return false, errConditionNotMet
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && b.UpdatedAt.Truncate(time.Second).After(t) {
			return false, errConditionNotMet
		}
	}
	if v := h.Get("If-None-Match"); v != "" && etagMatches(v, b.ETag) {
		return true, nil
	}
	if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !b.UpdatedAt.Truncate(time.Second).After(t) {
			return true, nil
		}
	}
	return false, nil
}

// writeConditions checks a write's conditional headers against the stored
// blob (nil when there is none).
func writeConditions(r *http.Request, old *storage.Blob) error {
	h := r.Header
	if old == nil {
		if h.Get("If-Match") != "" {
			return errConditionNotMet
		}
		return nil
	}
	if v := h.Get("If-None-Match"); v == "*" {
		return &Error{Status: http.StatusConflict, Code: CodeBlobAlreadyExists, Message: "The specified blob already exists."}
	} else if v != "" && etagMatches(v, old.ETag) {
		return errConditionNotMet
	}
	if v := h.Get("If-Match"); v != "" && !etagMatches(v, old.ETag) {
		return errConditionNotMet
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && old.UpdatedAt.Truncate(time.Second).After(t) {
			return errConditionNotMet
		}
	}
	if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !old.UpdatedAt.Truncate(time.Second).After(t) {
			return errConditionNotMet
		}
	}
	return nil
}

// canWrite is the permission to create or replace a blob: write, or add
// for a blob that does not exist yet (checked again in the transaction).
func (c *call) canWrite() (write, add bool) {
	return c.allowed(ActionBlobWrite, true), c.allowed(ActionBlobAdd, true)
}

// props reads the blob's HTTP properties from a Put Blob's headers (the
// x-ms-blob-* forms win over the plain ones).
func (c *call) props(single bool) (storage.BlobProps, error) {
	h := c.r.Header
	pick := func(ms, plain string) string {
		if v := h.Get(ms); v != "" || !single {
			return v
		}
		return h.Get(plain)
	}
	p := storage.BlobProps{
		ContentType:        pick("x-ms-blob-content-type", "Content-Type"),
		ContentEncoding:    pick("x-ms-blob-content-encoding", "Content-Encoding"),
		ContentLanguage:    pick("x-ms-blob-content-language", "Content-Language"),
		ContentDisposition: pick("x-ms-blob-content-disposition", "Content-Disposition"),
		CacheControl:       pick("x-ms-blob-cache-control", "Cache-Control"),
	}
	if p.ContentType == "" {
		p.ContentType = "application/octet-stream"
	}
	if v := h.Get(hBlobContentMD5); v != "" {
		md5, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(md5) != 16 {
			return p, errorf(http.StatusBadRequest, CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format: %s.", hBlobContentMD5)
		}
		p.ContentMD5 = md5
	}
	return p, nil
}

// blobWrite reads what a request that makes a blob (Put Blob, Put Block
// List) declares, its properties and metadata, and checks that the
// container exists, before any bytes are read or committed.
func (c *call) blobWrite(single bool) (storage.BlobProps, map[string]string, error) {
	props, err := c.props(single)
	if err != nil {
		return props, nil, err
	}
	md, err := c.metadata()
	if err != nil {
		return props, nil, err
	}
	if _, err := c.h.cfg.Svc.Container(c.ctx(), c.account.Name, c.container); err != nil {
		return props, nil, err
	}
	return props, md, nil
}

// checkMD5 compares a Content-MD5 header with what arrived.
func checkMD5(r *http.Request, got []byte) error {
	v := r.Header.Get("Content-MD5")
	if v == "" {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !bytes.Equal(want, got) {
		return errorf(http.StatusBadRequest, CodeMd5Mismatch, "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
	}
	return nil
}

func (c *call) commit(b storage.Blob, write, add bool) (storage.Blob, error) {
	now := c.h.cfg.Svc.now().UTC()
	b.Account, b.Container, b.Name, b.ETag, b.CreatedAt, b.UpdatedAt = c.account.Name, strings.ToLower(c.container), c.blob, c.h.cfg.Svc.newETag(), now, now
	got, err := c.h.cfg.Svc.store.PutBlob(c.ctx(), b, func(old *storage.Blob) error {
		if old != nil && !write {
			return errDenied
		}
		return writeConditions(c.r, old)
	})
	if errors.Is(err, storage.ErrParentNotFound) {
		return got, errContainerNotFound
	}
	return got, err
}

func (c *call) putBlob() error {
	write, add := c.canWrite()
	if !write && !add {
		return errDenied
	}
	switch t := c.r.Header.Get(hBlobType); t {
	case "BlockBlob":
	case "":
		return errorf(http.StatusBadRequest, CodeMissingRequiredHeader, "An HTTP header that's mandatory for this request is not specified: %s.", hBlobType)
	default:
		return errorf(http.StatusBadRequest, CodeUnsupportedBlobType, "Ward serves block blobs only; %s %s is not supported.", hBlobType, t)
	}
	props, md, err := c.blobWrite(true)
	if err != nil {
		return err
	}
	wr, err := c.h.cfg.Svc.files.Write(c.body(), c.h.cfg.Svc.cfg.MaxPutBytes)
	if err != nil {
		return readErr(err)
	}
	if err := checkMD5(c.r, wr.MD5); err != nil {
		return err
	}
	if props.ContentMD5 == nil {
		props.ContentMD5 = wr.MD5
	}
	b, err := c.commit(storage.Blob{Size: wr.Size, Digest: wr.Digest, Props: props, Metadata: md}, write, add)
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("ETag", b.ETag)
	hd.Set("Last-Modified", httpTime(b.UpdatedAt))
	hd.Set("Content-MD5", base64.StdEncoding.EncodeToString(wr.MD5))
	hd.Set(hRequestEncrypt, "true")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

// blockID validates a block ID: base64 of at most 64 bytes.
func blockID(id string) error {
	b, err := base64.StdEncoding.DecodeString(id)
	if id == "" || err != nil || len(b) > 64 {
		return errorf(http.StatusBadRequest, CodeInvalidQueryParameter, "The specified blockid %q is not valid base64 of at most 64 bytes.", id)
	}
	return nil
}

func (c *call) putBlock() error {
	write, add := c.canWrite()
	if !write && !add {
		return errDenied
	}
	id := c.q.Get("blockid")
	if err := blockID(id); err != nil {
		return err
	}
	if _, err := c.h.cfg.Svc.Container(c.ctx(), c.account.Name, c.container); err != nil {
		return err
	}
	blocks, err := c.h.cfg.Svc.store.ListBlobBlocks(c.ctx(), c.account.Name, c.container, c.blob)
	if err != nil {
		return err
	}
	if len(blocks) >= c.h.cfg.Svc.cfg.MaxBlocks {
		return errorf(http.StatusConflict, CodeTooManyUncommitedBlocks, "The blob already has %d uncommitted blocks.", len(blocks))
	}
	wr, err := c.h.cfg.Svc.files.Write(c.body(), c.h.cfg.Svc.cfg.MaxBlockBytes)
	if err != nil {
		return readErr(err)
	}
	if err := checkMD5(c.r, wr.MD5); err != nil {
		return err
	}
	err = c.h.cfg.Svc.store.PutBlobBlock(c.ctx(), storage.BlobBlock{Account: c.account.Name, Container: strings.ToLower(c.container), Blob: c.blob,
		BlockID: id, Digest: wr.Digest, Size: wr.Size, CreatedAt: c.h.cfg.Svc.now().UTC()})
	if errors.Is(err, storage.ErrParentNotFound) {
		return errContainerNotFound
	}
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(wr.MD5))
	c.w.Header().Set(hRequestEncrypt, "true")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

// blockListXML is a Put Block List body: Latest, Committed and Uncommitted
// entries in order.
type blockListXML struct {
	XMLName xml.Name `xml:"BlockList"`
	Items   []struct {
		XMLName xml.Name
		ID      string `xml:",chardata"`
	} `xml:",any"`
}

// maxBlockListBody caps a Put Block List body: 50,000 IDs of 64 bytes.
const maxBlockListBody = 8 << 20

func (c *call) putBlockList() error {
	write, add := c.canWrite()
	if !write && !add {
		return errDenied
	}
	raw, err := httpbody.Read(c.body(), maxBlockListBody)
	if httpbody.Is(err, httpbody.TooLarge) {
		return errorf(http.StatusRequestEntityTooLarge, CodeRequestBodyTooLarge, "The block list is larger than %d bytes.", maxBlockListBody)
	}
	if err != nil {
		return readErr(err)
	}
	var list blockListXML
	if err := xml.Unmarshal(raw, &list); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidXML, "XML specified is not syntactically valid: %v.", err)
	}
	if len(list.Items) > c.h.cfg.Svc.cfg.MaxBlocks {
		return errorf(http.StatusBadRequest, CodeInvalidBlockList, "The block list names %d blocks; at most %d are allowed.", len(list.Items), c.h.cfg.Svc.cfg.MaxBlocks)
	}
	props, md, err := c.blobWrite(false)
	if err != nil {
		return err
	}
	blocks, err := c.h.cfg.Svc.store.ListBlobBlocks(c.ctx(), c.account.Name, c.container, c.blob)
	if err != nil {
		return err
	}
	byID := map[string]storage.BlobBlock{}
	for _, b := range blocks {
		byID[b.BlockID] = b
	}
	digests := make([]string, 0, len(list.Items))
	var total int64
	for _, it := range list.Items {
		b, ok := byID[strings.TrimSpace(it.ID)]
		switch it.XMLName.Local {
		case "Latest", "Uncommitted":
		case "Committed":
			ok = false // committed blocks are not kept apart from their blob
		default:
			return errorf(http.StatusBadRequest, CodeInvalidXML, "The block list holds an unknown element %s.", it.XMLName.Local)
		}
		if !ok {
			return errorf(http.StatusBadRequest, CodeInvalidBlockList, "The specified block list is invalid: block %q is not an uncommitted block of this blob.", it.ID)
		}
		total += b.Size
		digests = append(digests, b.Digest)
	}
	if total > c.h.cfg.Svc.cfg.MaxBlobBytes {
		return errorf(http.StatusRequestEntityTooLarge, CodeRequestBodyTooLarge, "The blob would be %d bytes; this server's cap is %d.", total, c.h.cfg.Svc.cfg.MaxBlobBytes)
	}
	wr, err := c.h.cfg.Svc.files.Concat(digests, c.h.cfg.Svc.cfg.MaxBlobBytes)
	if err != nil {
		return err
	}
	b, err := c.commit(storage.Blob{Size: wr.Size, Digest: wr.Digest, Props: props, Metadata: md}, write, add)
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", b.ETag)
	c.w.Header().Set("Last-Modified", httpTime(b.UpdatedAt))
	c.w.Header().Set(hRequestEncrypt, "true")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

func (c *call) getBlockList() error {
	if err := c.need(ActionBlobRead, true); err != nil {
		return err
	}
	if _, err := c.h.cfg.Svc.Container(c.ctx(), c.account.Name, c.container); err != nil {
		return err
	}
	blocks, err := c.h.cfg.Svc.store.ListBlobBlocks(c.ctx(), c.account.Name, c.container, c.blob)
	if err != nil {
		return err
	}
	var out struct {
		XMLName     xml.Name   `xml:"BlockList"`
		Committed   []blockXML `xml:"CommittedBlocks>Block"`
		Uncommitted []blockXML `xml:"UncommittedBlocks>Block"`
	}
	out.Committed, out.Uncommitted = []blockXML{}, []blockXML{}
	for _, b := range blocks {
		out.Uncommitted = append(out.Uncommitted, blockXML{Name: b.BlockID, Size: b.Size})
	}
	return c.writeXML(http.StatusOK, out)
}

func (c *call) loadBlob() (storage.Blob, error) {
	b, err := c.h.cfg.Svc.store.GetBlob(c.ctx(), c.account.Name, c.container, c.blob)
	if errors.Is(err, storage.ErrNotFound) {
		if _, cerr := c.h.cfg.Svc.Container(c.ctx(), c.account.Name, c.container); cerr != nil {
			return b, cerr
		}
		return b, errBlobNotFound
	}
	return b, err
}

// blobHeaders sets a blob's properties as response headers.
func blobHeaders(h http.Header, b storage.Blob) {
	h.Set("ETag", b.ETag)
	h.Set("Last-Modified", httpTime(b.UpdatedAt))
	h.Set(hCreationTime, httpTime(b.CreatedAt))
	h.Set(hBlobType, "BlockBlob")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set(hServerEncrypted, "true")
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-access-tier", "Hot")
	h.Set("x-ms-access-tier-inferred", "true")
	for k, v := range map[string]string{"Content-Type": b.Props.ContentType, "Content-Encoding": b.Props.ContentEncoding,
		"Content-Language": b.Props.ContentLanguage, "Content-Disposition": b.Props.ContentDisposition, "Cache-Control": b.Props.CacheControl} {
		if v != "" {
			h.Set(k, v)
		}
	}
	writeMetadata(h, b.Metadata)
}

// parseRange reads "bytes=start-end" or "bytes=start-" against size.
func parseRange(v string, size int64) (start, end int64, err error) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	a, z, ok2 := strings.Cut(spec, "-")
	bad := errorf(http.StatusRequestedRangeNotSatisfiable, CodeInvalidRange, "The range specified is invalid for the current size of the resource.")
	if !ok || !ok2 || strings.Contains(spec, ",") {
		return 0, 0, errorf(http.StatusBadRequest, CodeInvalidHeaderValue, "The range %q is not of the form bytes=start-end.", v)
	}
	if start, err = strconv.ParseInt(a, 10, 64); err != nil || start < 0 {
		return 0, 0, errorf(http.StatusBadRequest, CodeInvalidHeaderValue, "The range %q is not of the form bytes=start-end.", v)
	}
	end = size - 1
	if z != "" {
		if end, err = strconv.ParseInt(z, 10, 64); err != nil || end < start {
			return 0, 0, errorf(http.StatusBadRequest, CodeInvalidHeaderValue, "The range %q is not of the form bytes=start-end.", v)
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, bad
	}
	return start, end, nil
}

func (c *call) getBlob(metadataOnly bool) error {
	if err := c.need(ActionBlobRead, true); err != nil {
		return err
	}
	b, err := c.loadBlob()
	if err != nil {
		return err
	}
	notModified, err := readConditions(c.r, b)
	if err != nil {
		return err
	}
	hd := c.w.Header()
	if notModified {
		hd.Set("ETag", b.ETag)
		hd.Set(hErrorCode, CodeConditionNotMet)
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if metadataOnly {
		hd.Set("ETag", b.ETag)
		hd.Set("Last-Modified", httpTime(b.UpdatedAt))
		writeMetadata(hd, b.Metadata)
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	blobHeaders(hd, b)
	rng := c.r.Header.Get(hRange)
	if rng == "" {
		rng = c.r.Header.Get("Range")
	}
	if c.r.Method == http.MethodHead {
		hd.Set("Content-Length", strconv.FormatInt(b.Size, 10))
		if len(b.Props.ContentMD5) > 0 {
			hd.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.Props.ContentMD5))
		}
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	start, end, status := int64(0), b.Size-1, http.StatusOK
	if rng != "" && b.Size > 0 {
		if start, end, err = parseRange(rng, b.Size); err != nil {
			return err
		}
		status = http.StatusPartialContent
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, b.Size))
		if len(b.Props.ContentMD5) > 0 {
			hd.Set(hBlobContentMD5, base64.StdEncoding.EncodeToString(b.Props.ContentMD5))
		}
	} else if len(b.Props.ContentMD5) > 0 {
		hd.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.Props.ContentMD5))
	}
	f, err := c.h.cfg.Svc.files.Open(b.Digest)
	if err != nil {
		return fmt.Errorf("blob %s/%s/%s: content %s: %w", c.account.Name, c.container, c.blob, b.Digest, err)
	}
	defer f.Close()
	n := end - start + 1
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	c.w.WriteHeader(status)
	if n > 0 {
		_, _ = io.Copy(c.w, io.NewSectionReader(f, start, n))
	}
	return nil
}

// setBlob is Set Blob Properties or Set Blob Metadata.
func (c *call) setBlob(comp string) error {
	if err := c.need(ActionBlobWrite, true); err != nil {
		return err
	}
	var props storage.BlobProps
	var md map[string]string
	var err error
	if comp == "properties" {
		props, err = c.props(false)
		if props.ContentType == "application/octet-stream" && c.r.Header.Get("x-ms-blob-content-type") == "" {
			props.ContentType = ""
		}
	} else {
		md, err = c.metadata()
	}
	if err != nil {
		return err
	}
	b, err := c.h.cfg.Svc.store.UpdateBlob(c.ctx(), c.account.Name, c.container, c.blob, func(old storage.Blob) (storage.Blob, error) {
		if err := writeConditions(c.r, &old); err != nil {
			return old, err
		}
		if comp == "properties" {
			old.Props = props
		} else {
			old.Metadata = md
		}
		old.ETag, old.UpdatedAt = c.h.cfg.Svc.newETag(), c.h.cfg.Svc.now().UTC()
		return old, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		_, err = c.loadBlob()
	}
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", b.ETag)
	c.w.Header().Set("Last-Modified", httpTime(b.UpdatedAt))
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (c *call) deleteBlob() error {
	if err := c.need(ActionBlobDelete, true); err != nil {
		return err
	}
	err := c.h.cfg.Svc.store.DeleteBlob(c.ctx(), c.account.Name, c.container, c.blob, func(old storage.Blob) error { return writeConditions(c.r, &old) })
	if errors.Is(err, storage.ErrNotFound) {
		_, err = c.loadBlob()
	}
	if err != nil {
		return err
	}
	c.w.Header().Set("x-ms-delete-type-permanent", "true")
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}
