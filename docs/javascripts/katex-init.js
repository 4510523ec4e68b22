// Typeset the \( \) and \[ \] spans that pymdownx.arithmatex (generic mode) leaves in the page,
// with the KaTeX copy vendored beside this file (the site needs no network).
document.addEventListener("DOMContentLoaded", () => {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
