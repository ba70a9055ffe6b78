// Search results: Sphinx builds each result's summary from the page's [role="main"] text, which in this theme also
// holds the article header (the light/dark switcher's "System Settings Light Dark", the download and full-screen
// buttons), a contents list printed only on paper and the previous/next links. Those are taken out before the
// summary is made.
document.addEventListener("DOMContentLoaded", () => {
  // searchtools.js declares `const Search` at the top level: a global binding, not a property of window
  if (typeof Search === "undefined" || !Search.htmlToText || Search._il6reproChrome) return;
  const toText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(".bd-header-article, .header-article-items, .prev-next-area, .bd-footer-article, " +
                         ".bd-sidebar-secondary, .bd-sidebar-primary, .bd-toc, .onlyprint, .theme-switch-button").forEach((el) => el.remove());
    return toText(doc.documentElement.outerHTML, anchor);
  };
  Search._il6reproChrome = true;
});
