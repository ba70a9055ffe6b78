// Search results: Sphinx builds each result's summary from the page's [role="main"] text, which in this theme also
// holds the article header (the light/dark switcher's "System Settings Light Dark", the download and full-screen
// buttons), a contents list printed only on paper and the previous/next links. Those are taken out before the
// summary is made. Table cells, blocks and the parts of an inline claim are then kept apart by a space ("seeds02, cell 7"
// ran a claim's verdict into its cell reference)
// and runs of whitespace read as one space (a table's indentation filled the summary with blank lines).
document.addEventListener("DOMContentLoaded", () => {
  // searchtools.js declares `const Search` at the top level: a global binding, not a property of window
  if (typeof Search === "undefined" || !Search.htmlToText || Search._il6reproChrome) return;
  const toText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(".bd-header-article, .header-article-items, .prev-next-area, .bd-footer-article, " +
                         ".bd-sidebar-secondary, .bd-sidebar-primary, .bd-toc, .onlyprint, .theme-switch-button").forEach((el) => el.remove());
    doc.querySelectorAll("td, th, p, li, div, h1, h2, h3, h4, h5, h6, caption, dt, dd, [class*=\"claim-\"]")
      .forEach((el) => el.append(doc.createTextNode(" ")));
    return toText(doc.documentElement.outerHTML, anchor).replace(/\s+/g, " ");
  };
  Search._il6reproChrome = true;
});

// Search highlights the query's terms wherever they occur inside words: "IL-6" lit up the "il" of "built" and the
// "6" of "0.65" in the result summaries (and in a page opened with ?highlight=). Only whole words stay highlighted.
const il6reproWordChar = /[\p{L}\p{N}_]/u;
const il6reproWholeWords = (root) => {
  root.querySelectorAll("span.highlighted").forEach((el) => {
    const before = (el.previousSibling && el.previousSibling.textContent) || "";
    const after = (el.nextSibling && el.nextSibling.textContent) || "";
    if (il6reproWordChar.test(before.slice(-1)) || il6reproWordChar.test(after.slice(0, 1))) {
      const parent = el.parentNode;
      el.replaceWith(document.createTextNode(el.textContent));
      parent.normalize();
    }
  });
};
document.addEventListener("DOMContentLoaded", () => {
  const results = document.getElementById("search-results");  // the search page: summaries arrive one by one
  if (results) {
    new MutationObserver(() => il6reproWholeWords(results)).observe(results, { childList: true, subtree: true });
  }
});
if (typeof SphinxHighlight !== "undefined" && !SphinxHighlight._il6reproWhole) {
  const highlight = SphinxHighlight.highlightSearchWords;
  SphinxHighlight.highlightSearchWords = () => {
    highlight();
    window.setTimeout(() => il6reproWholeWords(document.body), 60);  // Sphinx highlights 10 ms after the call
  };
  SphinxHighlight._il6reproWhole = true;
}
