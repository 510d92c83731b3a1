package web

import "strconv"

// Charts of the security team's console: horizontal bars drawn as inline
// SVG on the server (no script), named for assistive technology by their
// title, each followed in the page by a table of the same data.

// ChartRow is one bar: a label (a day, a reason, an issuer) and one value
// per series, stacked.
type ChartRow struct {
	Label  string
	Values []int
}

// Chart is a titled bar chart; Series name the stacked values of each row.
type Chart struct {
	ID     string // unique in the page: the ids of its title and table
	Title  string
	Series []string
	Rows   []ChartRow
}

// The chart's geometry, in the units of its viewBox.
const (
	chartWidth  = 640
	chartLabelW = 220
	chartValueW = 60
	chartRowH   = 26
	chartBarH   = 18
	chartTop    = 8
	chartLegend = 28
)

// chartColours are the series' fills, each at least 3:1 against white
// (WCAG 2.1 1.4.11): blue, red, dark grey, green.
var chartColours = []string{"#0066CC", "#C51F3A", "#4D4D4D", "#00804D"}

// ChartRect is one drawn segment of a bar.
type ChartRect struct {
	X, Y, W, H int
	Fill       string
	Tip        string // the series and its value
}

// ChartText is one drawn label.
type ChartText struct {
	X, Y   int
	Anchor string
	Text   string
}

// ChartLegend is one series' swatch.
type ChartLegend struct {
	X, Y int
	Fill string
	Name string
}

// ChartDrawing is a chart laid out for the template.
type ChartDrawing struct {
	Width, Height int
	Rects         []ChartRect
	Texts         []ChartText
	Legend        []ChartLegend
}

// Total is the sum of a row's values.
func (r ChartRow) Total() int {
	n := 0
	for _, v := range r.Values {
		n += v
	}
	return n
}

// Draw lays the chart out: one row per bar, scaled to the largest total.
func (c Chart) Draw() ChartDrawing {
	max := 1
	for _, r := range c.Rows {
		max = maxInt(max, r.Total())
	}
	d := ChartDrawing{Width: chartWidth, Height: chartTop + len(c.Rows)*chartRowH + chartLegend}
	span := chartWidth - chartLabelW - chartValueW
	for i, r := range c.Rows {
		y := chartTop + i*chartRowH
		d.Texts = append(d.Texts, ChartText{X: chartLabelW - 8, Y: y + chartBarH - 4, Anchor: "end", Text: shorten(r.Label, 30)})
		x := chartLabelW
		for s, v := range r.Values {
			w := v * span / max
			if v > 0 && w == 0 {
				w = 1
			}
			name := ""
			if s < len(c.Series) {
				name = c.Series[s]
			}
			d.Rects = append(d.Rects, ChartRect{X: x, Y: y, W: w, H: chartBarH, Fill: chartColours[s%len(chartColours)], Tip: name + ": " + strconv.Itoa(v)})
			x += w
		}
		d.Texts = append(d.Texts, ChartText{X: x + 6, Y: y + chartBarH - 4, Anchor: "start", Text: strconv.Itoa(r.Total())})
	}
	ly := chartTop + len(c.Rows)*chartRowH + 6
	for s, name := range c.Series {
		d.Legend = append(d.Legend, ChartLegend{X: chartLabelW + s*160, Y: ly, Fill: chartColours[s%len(chartColours)], Name: name})
	}
	return d
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// shorten cuts a label to n runes with an ellipsis; the table has it whole.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// chartData is what the console_chart template draws: a chart in a language.
type chartData struct {
	Lang  Lang
	Chart Chart
}
