// MathJax 2 settings for the book's pages, loaded from MathJax's own folder as config/local/prm-edu.js:
// the copy of MathJax in the jupyter-server-mathjax package carries the STIX-Web fonts only.
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]], processEscapes: true},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  SVG: {font: "STIX-Web"},
  MMLorHTML: {prefer: "HTML"},  // HTML-CSS in every browser: native MathML would ask for the TeX fonts this copy lacks
  menuSettings: {assistiveMML: false},
  messageStyle: "none"
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/prm-edu.js");
