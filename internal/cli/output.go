package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	jmespath "github.com/jmespath-community/go-jmespath/pkg/api"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
	"sigs.k8s.io/yaml"
)

// Output formats, as az names them.
var outputFormats = []string{"json", "jsonc", "table", "tsv", "yaml", "yamlc", "none"}

// render applies a JMESPath query to result and writes it in format, the
// way az does: JSON with sorted keys, tables of scalar columns, TSV of
// values, YAML.
func render(w io.Writer, result any, format, query string) error {
	// A command's own table view, as az's table transformers, applies when
	// no --query reshapes the result.
	if t, ok := result.(tableView); ok {
		result = t.value
		if format == "table" && query == "" {
			result = t.table()
		}
	}
	if t, ok := result.(orderedTable); ok && format == "table" {
		if query == "" {
			rows := make([]any, len(t.rows))
			for i, r := range t.rows {
				rows[i] = r
			}
			return writeTable(w, rows, t.cols)
		}
		result = t.rows
	}
	// Round-trip through JSON so the query sees plain maps and slices.
	b, err := json.Marshal(result)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var order []string
	if query != "" {
		if v, err = jmespath.Search(query, v); err != nil {
			return fmt.Errorf("invalid --query %q: %w", query, err)
		}
		order = projectionKeys(query)
	}
	switch format {
	case "json", "":
		return writeJSONOut(w, v, false)
	case "jsonc":
		return writeJSONOut(w, v, true)
	case "yaml", "yamlc":
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	case "table":
		return writeTable(w, v, order)
	case "tsv":
		return writeTSV(w, v, order)
	case "none":
		return nil
	}
	return fmt.Errorf("output format %q is not known; use one of %s", format, strings.Join(outputFormats, ", "))
}

func writeJSONOut(w io.Writer, v any, color bool) error {
	if v == nil {
		return nil // az prints nothing for a null result
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := buf.String()
	if color {
		out = colorize(out)
	}
	_, err := io.WriteString(w, out)
	return err
}

var (
	jsonKeyRE    = regexp.MustCompile(`(?m)^(\s*)("(?:[^"\\]|\\.)*")(:)`)
	jsonStringRE = regexp.MustCompile(`(: |^\s*)("(?:[^"\\]|\\.)*")(,?)$`)
)

// colorize adds ANSI colours to indented JSON: keys blue, strings green.
func colorize(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = jsonStringRE.ReplaceAllString(l, "$1\x1b[32m$2\x1b[0m$3")
		lines[i] = jsonKeyRE.ReplaceAllString(l, "$1\x1b[94m$2\x1b[0m$3")
	}
	return strings.Join(lines, "\n")
}

// projectionKeys returns the keys of the query's multi-select hash in the
// order written ({Name:name, Id:id} gives Name, Id), so that table and TSV
// columns follow the query as in az.
func projectionKeys(query string) []string {
	ast, err := parsing.NewParser().Parse(query)
	if err != nil {
		return nil
	}
	var found []string
	var walk func(n parsing.ASTNode)
	walk = func(n parsing.ASTNode) {
		if n.NodeType == parsing.ASTMultiSelectHash {
			found = found[:0]
			for _, c := range n.Children {
				if k, ok := c.Value.(string); ok {
					found = append(found, k)
				}
			}
			return
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(ast)
	return found
}

func rows(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// tableView is a result with its own -o table columns, as az's table
// transformers give some commands (role assignment list: Principal, Role,
// Scope).
type tableView struct {
	value any
	table func() any
}

// tableSkip are the keys az's automatic tables leave out (knack's
// _TableOutput.SKIP_KEYS): long IDs that would push every table past the
// terminal's width. Every value a table does show is printed whole, as az
// prints it, however wide: IDs must stay copyable (the terminal wraps).
var tableSkip = map[string]bool{"id": true, "type": true, "etag": true}

// columns picks the scalar keys of the rows: the query's order first, then
// the rest sorted, as az's sort_keys output does. A table without a query
// leaves out what az's automatic tables leave out: id, type, etag and null
// values.
func columns(items []any, order []string, table bool) []string {
	seen := map[string]bool{}
	var keys []string
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		for k, val := range m {
			if table && len(order) == 0 && (tableSkip[k] || val == nil) {
				continue
			}
			if !seen[k] && isScalar(val) {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	if len(order) == 0 {
		return keys
	}
	var out []string
	for _, k := range order {
		if seen[k] {
			out = append(out, k)
			delete(seen, k)
		}
	}
	for _, k := range keys {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}

func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return fmt.Sprint(t)
	case bool:
		if t {
			return "True"
		}
		return "False"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func header(k string) string {
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// orderedTable is a table view whose columns come in a fixed order.
type orderedTable struct {
	cols []string
	rows []map[string]any
}

func (t orderedTable) MarshalJSON() ([]byte, error) { return json.Marshal(t.rows) }

func writeTable(w io.Writer, v any, order []string) error {
	if v == nil {
		return nil
	}
	items := rows(v)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cols := columns(items, order, true)
	if len(cols) == 0 {
		// A list of scalars prints as one "Result" column.
		fmt.Fprintln(tw, "Result")
		fmt.Fprintln(tw, "--------")
		for _, it := range items {
			fmt.Fprintln(tw, cell(it))
		}
		return tw.Flush()
	}
	// az underlines each column across its full width.
	table := make([][]string, 0, len(items))
	width := make([]int, len(cols))
	var head []string
	for i, c := range cols {
		head = append(head, header(c))
		width[i] = max(len(c), 8)
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		var vals []string
		for i, c := range cols {
			v := cell(m[c])
			width[i] = max(width[i], len([]rune(v)))
			vals = append(vals, v)
		}
		table = append(table, vals)
	}
	var rule []string
	for _, n := range width {
		rule = append(rule, strings.Repeat("-", n))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	fmt.Fprintln(tw, strings.Join(rule, "\t"))
	for _, vals := range table {
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

func writeTSV(w io.Writer, v any, order []string) error {
	if v == nil {
		return nil
	}
	for _, it := range rows(v) {
		m, ok := it.(map[string]any)
		if !ok {
			if _, err := fmt.Fprintln(w, cell(it)); err != nil {
				return err
			}
			continue
		}
		var vals []string
		for _, c := range columns([]any{m}, order, false) {
			vals = append(vals, cell(m[c]))
		}
		if _, err := fmt.Fprintln(w, strings.Join(vals, "\t")); err != nil {
			return err
		}
	}
	return nil
}
