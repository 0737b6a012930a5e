// The search page: state lives in the URL (shareable, back button works), results come from /api/search.
// Article text is only ever inserted with textContent; the *_html fields are escaped by the server
// and carry nothing but <mark> elements.
"use strict";

const FACETS = [
  // [facet in the response, URL parameter, heading]
  ["languages", "lang", "Language"],
  ["outlets", "outlet", "Outlet"],
  ["outlet_countries", "country", "Outlet country"],
  ["entity_ids", "entity", "Entity"],
  ["entity_types", "entity_type", "Entity type"],
  ["story_ids", "story", "Story"],
  ["duplicate_statuses", "duplicate_status", "Duplicate status"],
];
const LANGUAGE_NAMES = { en: "English", ar: "العربية", fr: "Français", es: "Español", de: "Deutsch", und: "Unknown" };
let nextCursor = null;

function currentParams() {
  return new URLSearchParams(window.location.search);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function navigate(params) {
  params.delete("cursor");
  window.history.pushState(null, "", "?" + params.toString());
  run(false);
}

function renderFacets(facets, params) {
  const sidebar = document.getElementById("facets");
  sidebar.replaceChildren();
  for (const [name, param, heading] of FACETS) {
    const selected = params.getAll(param);
    const buckets = facets[name].slice();
    for (const value of selected) {
      if (!buckets.some((bucket) => bucket.key === value)) buckets.push({ key: value, count: 0 });
    }
    if (!buckets.length) continue;
    const section = element("section");
    section.dataset.facet = name;
    section.appendChild(element("h3", heading));
    for (const bucket of buckets) {
      const label = element("label");
      const box = element("input");
      box.type = "checkbox";
      box.checked = selected.includes(bucket.key);
      box.addEventListener("change", () => {
        const next = currentParams();
        const values = next.getAll(param).filter((value) => value !== bucket.key);
        if (box.checked) values.push(bucket.key);
        next.delete(param);
        values.forEach((value) => next.append(param, value));
        navigate(next);
      });
      const name_ = element("span", name === "languages" ? LANGUAGE_NAMES[bucket.key] || bucket.key : bucket.label || bucket.key);
      name_.dir = "auto";
      label.append(box, name_, element("span", String(bucket.count), "count"));
      section.appendChild(label);
    }
    sidebar.appendChild(section);
  }
  const dates = element("section");
  dates.appendChild(element("h3", "Published"));
  for (const [param, text] of [["since", "from"], ["until", "before"]]) {
    const label = element("label", text + " ");
    const input = element("input");
    input.type = "date";
    input.value = (params.get(param) || "").slice(0, 10);
    input.addEventListener("change", () => {
      const next = currentParams();
      if (input.value) next.set(param, input.value); else next.delete(param);
      navigate(next);
    });
    label.appendChild(input);
    dates.appendChild(label);
  }
  sidebar.appendChild(dates);
}

function reasonBadges(hit) {
  const why = element("p", null, "why");
  for (const reason of hit.matched) {
    const text = reason.kind === "entity" ? "entity: " + reason.label : reason.kind + ": " + reason.text;
    const badge = element("span", text, reason.kind);
    badge.dir = "auto";
    why.appendChild(badge);
  }
  return why;
}

function renderHit(hit, collapse) {
  const item = document.getElementById("hit-template").content.firstElementChild.cloneNode(true);
  item.dir = hit.direction;
  item.lang = hit.language || "";
  item.dataset.id = hit.id;
  const link = item.querySelector(".title");
  link.innerHTML = hit.title_html;  // escaped by the server: only <mark> elements
  if (hit.url && /^https?:\/\//.test(hit.url)) link.href = hit.url;
  const outlets = hit.outlets.length ? hit.outlets.join(", ") : hit.outlet || "";
  const date = (hit.published_at || "").slice(0, 10);
  item.querySelector(".meta").textContent = [outlets, LANGUAGE_NAMES[hit.language] || hit.language, date]
    .filter(Boolean).join(" · ");
  item.querySelector(".snippet").innerHTML = hit.snippet_html;  // escaped by the server
  item.querySelector(".why").replaceWith(reasonBadges(hit));
  if (hit.group && hit.group.size > 1) {
    const group = item.querySelector(".group");
    group.hidden = false;
    const noun = collapse === "stories" ? "articles in this story" : "copies of this article";
    group.querySelector("summary").textContent = hit.group.size + " " + noun;
    const list = group.querySelector("ul");
    for (const member of hit.group.others) {
      const line = element("li", [member.title, member.outlet, (member.published_at || "").slice(0, 10)]
        .filter(Boolean).join(" · "));
      line.dir = "auto";
      list.appendChild(line);
    }
  }
  return item;
}

async function run(append) {
  const params = currentParams();
  document.getElementById("q").value = params.get("q") || "";
  document.getElementById("sort").value = params.get("sort") || "relevance";
  document.getElementById("collapse").value = params.get("collapse") || "duplicates";
  const query = new URLSearchParams(params);
  for (const param of ["since", "until"]) {
    if (query.get(param) && query.get(param).length === 10) query.set(param, query.get(param) + "T00:00:00Z");
  }
  if (append && nextCursor) query.set("cursor", nextCursor);
  const status = document.getElementById("status");
  status.textContent = "Searching…";
  const response = await fetch("/api/search?" + query.toString(), { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) {
    status.textContent = typeof body.detail === "string" ? body.detail : "Invalid search: " + JSON.stringify(body.detail);
    status.className = "error";
    document.body.dataset.ready = "true";
    return;
  }
  status.className = "";
  const results = document.getElementById("results");
  if (!append) results.replaceChildren();
  const collapse = params.get("collapse") || "duplicates";
  body.hits.forEach((hit) => results.appendChild(renderHit(hit, collapse)));
  status.textContent = body.total + (body.total === 1 ? " article" : " articles") + " match";
  renderFacets(body.facets, params);
  nextCursor = body.next_cursor;
  document.getElementById("more").hidden = !nextCursor;
  document.body.dataset.ready = "true";  // for tests and screenshots: the answer is on the page
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const next = currentParams();
    for (const field of ["q", "sort", "collapse"]) next.set(field, document.getElementById(field).value);
    navigate(next);
  });
  document.getElementById("more").addEventListener("click", () => run(true));
  window.addEventListener("popstate", () => run(false));
  run(false);
});
