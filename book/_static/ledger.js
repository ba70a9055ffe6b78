// il6repro book: the ledger table's filters (study, status), row details on click, the source sentence on hover.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.ledger-table")) {
    const rows = [...table.querySelectorAll("tr.ledger-row")];
    for (const row of rows) {
      const source = row.querySelector(".claim-source");
      if (source) row.title = source.textContent.replace(/^Source:\s*/, "") + "\n(click for details)";
      row.addEventListener("click", (e) => {
        if (e.target.closest("a")) return;
        row.classList.toggle("expanded");
      });
    }
    const openTarget = () => {  // a link to a claim's row (from the paper) opens its details
      const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target && target.classList.contains("ledger-row")) target.classList.add("expanded");
    };
    openTarget();
    window.addEventListener("hashchange", openTarget);
    const values = (pick) => [...new Set(rows.map(pick))].sort();
    const studyOf = (r) => [...r.classList].find((c) => c.startsWith("study-")).slice(6);
    const statusOf = (r) => r.querySelector(".ledger-status").textContent.trim();
    const bar = document.createElement("div");
    bar.className = "ledger-filter";
    const count = document.createElement("span");
    count.className = "ledger-count";
    const select = (label, options) => {
      const lab = document.createElement("label");
      lab.textContent = label + " ";
      const sel = document.createElement("select");
      for (const v of ["all", ...options]) sel.add(new Option(v, v));
      lab.append(sel);
      bar.append(lab);
      return sel;
    };
    const study = select("Study", values(studyOf));
    const status = select("Status", values(statusOf));
    const expand = document.createElement("button");
    expand.type = "button";
    expand.className = "btn btn-sm btn-outline-secondary";
    expand.textContent = "Expand all";
    expand.addEventListener("click", () => {
      const open = expand.textContent === "Expand all";
      rows.forEach((r) => r.classList.toggle("expanded", open));
      expand.textContent = open ? "Collapse all" : "Expand all";
    });
    bar.append(expand, count);
    const apply = () => {
      let shown = 0;
      for (const r of rows) {
        const ok = (study.value === "all" || studyOf(r) === study.value) &&
                   (status.value === "all" || statusOf(r) === status.value);
        r.style.display = ok ? "" : "none";
        shown += ok;
      }
      count.textContent = `${shown} of ${rows.length} claims`;
    };
    study.addEventListener("change", apply);
    status.addEventListener("change", apply);
    apply();
    const holder = table.closest(".pst-scrollable-table-container") || table;
    holder.before(bar);
  }
});

// A phone: the consistency table becomes one card per check, each value labelled with its column's header (set
// here as data-label; il6repro.css shows it below 600 px), instead of columns scrolled off-screen.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.consistency-table")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((td, i) => { if (heads[i]) td.dataset.label = heads[i]; });
    }
  }
});
