// Typeset the \( \) and \[ \] spans that pymdownx.arithmatex (generic mode) leaves in the page,
// with the KaTeX copy vendored beside this file (the site needs no network).
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
