// MathJax 3 settings for pymdownx.arithmatex (generic mode): typeset only the spans and blocks it marks.
// Each page is a full load (Material's instant navigation is off), so MathJax's own startup typesets it; typesetting
// again on Material's document$ would clear the font cache and leave the formulas without glyphs.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
