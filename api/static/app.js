// The web page: ask (streamed from POST /ask/stream, optionally filtered by year and journal),
// check every citation, export the sources, browse the documents with their facet counts, add documents.
// Plain DOM code, no framework and no build step; text from the server is only ever set as text.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("rag-api-key"), citations: [], lastMarker: null, history: [] };
// Earlier turns sent with a question, so a follow-up ("What about its side effects?") is read
// against them; the server accepts at most 20.
const MAX_HISTORY = 20;
// Figures the page shows and the browser tests read: time to the first words, to the whole answer.
window.ragTimings = {};

// --- talking to the API -------------------------------------------------------------------

async function api(path, options = {}, retried = false) {
  const headers = new Headers(options.headers || {});
  if (state.key) headers.set("Authorization", `Bearer ${state.key}`);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried && (await askForKey())) return api(path, options, true);
  return response;
}

async function failure(response) {
  let detail = response.statusText;
  try {
    const body = await response.json();
    detail = body.detail || (body.error && body.error.message) || detail;
  } catch (_) { /* not JSON: the status text says enough */ }
  return `${response.status}: ${detail}`;
}

function askForKey() {
  const dialog = $("key-dialog");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "ok" && $("api-key").value.trim() !== "";
      if (ok) {
        state.key = $("api-key").value.trim();
        sessionStorage.setItem("rag-api-key", state.key);
      }
      resolve(ok);
    }, { once: true });
    dialog.showModal();
  });
}

// Server-Sent Events from a POST: read the body and split it into events.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = { kind: "message", data: "" };
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event.kind = line.slice(7);
        else if (line.startsWith("data: ")) event.data += line.slice(6);
      }
      yield { kind: event.kind, data: JSON.parse(event.data) };
    }
  }
}

// --- asking -------------------------------------------------------------------------------

function resetAnswer() {
  for (const id of ["error", "abstained", "dropped", "sources", "read-as"]) $(id).hidden = true;
  $("answer").textContent = "";
  $("answer").classList.remove("streaming");
  $("source-list").textContent = "";
  $("export-status").textContent = "";
  $("dropped-list").textContent = "";
  closePanel(false);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  $("status").textContent = "The server could not answer.";
}

async function ask(question, mode) {
  resetAnswer();
  const area = $("answer-area");
  area.setAttribute("aria-busy", "true");
  $("ask-button").disabled = true;
  $("status").textContent = "Searching the documents…";
  const started = performance.now();
  const timings = { first_text_ms: null, total_ms: null, first_text: null };
  window.ragTimings = timings;
  try {
    const response = await api("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, mode, history: state.history.slice(-MAX_HISTORY), ...filtersField() }),
    });
    if (!response.ok) {
      showError(await failure(response));
      return;
    }
    for await (const event of events(response)) {
      if (event.kind === "citations") {
        $("status").textContent = `Found ${event.data.length} passages; writing the answer…`;
      } else if (event.kind === "sentence" || event.kind === "token") {
        if (timings.first_text_ms === null) {
          timings.first_text_ms = performance.now() - started;
          timings.first_text = event.data;
          area.dataset.firstTextMs = timings.first_text_ms.toFixed(1);
        }
        const answer = $("answer");
        answer.classList.add("streaming");
        answer.textContent += (answer.textContent && event.kind === "sentence" ? " " : "") + event.data;
      } else if (event.kind === "final") {
        timings.total_ms = performance.now() - started;
        area.dataset.totalMs = timings.total_ms.toFixed(1);
        renderAnswer(event.data, timings);
        remember(question, event.data);
      } else if (event.kind === "error") {
        showError(`${event.data.status}: ${event.data.detail}`);
      }
    }
  } catch (error) {
    showError(`The request failed: ${error.message}`);
  } finally {
    area.setAttribute("aria-busy", "false");
    $("ask-button").disabled = false;
  }
}

function remember(question, response) {
  const doc_ids = [...new Set(response.citations.map((c) => c.doc_id))];
  state.history.push({ question, answer: response.answer, doc_ids });
  renderConversation(response);
}

function renderConversation(response) {
  const earlier = state.history.slice(0, -1);
  $("conversation").hidden = earlier.length === 0;
  $("conversation-turns").textContent = earlier.length === 1 ? "1 earlier question" : `${earlier.length} earlier questions`;
  const readAs = $("read-as");
  readAs.hidden = !response.resolved_question || response.resolved_question === state.history.at(-1).question;
  readAs.textContent = readAs.hidden ? "" : `Read as: “${response.resolved_question}”`;
}

function newConversation() {
  state.history = [];
  $("conversation").hidden = true;
  $("read-as").hidden = true;
  $("question").focus();
}

function renderAnswer(response, timings) {
  const answer = $("answer");
  answer.classList.remove("streaming");
  answer.textContent = "";
  state.citations = response.citations;
  const seconds = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
  const first = timings.first_text_ms === null ? "" : `, first words after ${seconds(timings.first_text_ms)}`;
  const writer = { extractive: "quoted", generative: "written by the local model", "extractive-fallback": "quoted (the model's answer did not pass verification)" }[response.composer];
  $("status").textContent = `Answered in ${seconds(timings.total_ms)}${first} · ${writer}`;
  if (response.abstained) {
    $("abstained-reason").textContent = response.answer;  // it states the reason itself
    $("abstained").hidden = false;
    return;
  }
  const byMarker = new Map(response.citations.map((c) => [c.marker, c]));
  let last = 0;
  let occurrence = 0;
  for (const match of response.answer.matchAll(/\[(\d+)\]/g)) {
    answer.append(response.answer.slice(last, match.index));
    const citation = byMarker.get(Number(match[1]));
    answer.append(citation ? markerLink(citation, occurrence++) : match[0]);
    last = match.index + match[0].length;
  }
  answer.append(response.answer.slice(last));
  renderSources(response.citations);
  renderDropped(response.dropped);
}

function markerLink(citation, occurrence) {
  const link = document.createElement("a");
  link.className = "marker";
  link.href = `#source-${citation.marker}`;
  link.dataset.marker = citation.marker;
  link.setAttribute("aria-label", `Source ${citation.marker}: ${citation.title}`);
  const tip = document.createElement("span");
  tip.className = "tip";
  tip.id = `tip-${citation.marker}-${occurrence}`;
  tip.setAttribute("role", "tooltip");
  tip.textContent = `“${citation.quote}” — ${citation.title}`;
  link.setAttribute("aria-describedby", tip.id);
  link.append(`[${citation.marker}]`, tip);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openPanel(citation, link);
  });
  return link;
}

function describe(item) {
  return [item.authors, item.journal, item.year].filter(Boolean).join(" · ");
}

// Where in the paper the quote stands: its section and, for paged documents (PDF), its pages.
function locate(citation) {
  const parts = [];
  if (citation.section) parts.push(citation.section);
  if (citation.page_start) {
    const last = citation.page_end || citation.page_start;
    parts.push(last === citation.page_start ? `p. ${citation.page_start}` : `pp. ${citation.page_start}–${last}`);
  }
  return parts.join(", ");
}

function aboutElement(text) {
  const about = document.createElement("span");
  about.className = "about";
  about.textContent = text;
  return about;
}

function whereElement(citation) {
  const where = document.createElement("span");
  where.className = "where";
  where.textContent = locate(citation);
  where.hidden = where.textContent === "";
  return where;
}

function renderSources(citations) {
  const list = $("source-list");
  for (const citation of citations) {
    const item = document.createElement("li");
    item.id = `source-${citation.marker}`;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = citation.title;
    button.addEventListener("click", () => openPanel(citation, button));
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.append(aboutElement(describe(citation) || citation.doc_id), whereElement(citation));
    const quote = document.createElement("q");
    quote.textContent = citation.quote;
    item.append(button, meta, quote);
    list.append(item);
  }
  $("sources").hidden = citations.length === 0;
}

function renderDropped(dropped) {
  for (const item of dropped || []) {
    const line = document.createElement("li");
    line.textContent = `${item.sentence} — ${item.reason}`;
    $("dropped-list").append(line);
  }
  $("dropped").hidden = !dropped || dropped.length === 0;
}

// --- exporting the sources to a reference manager ---------------------------------------------

// The cited documents' references (GET /cite), downloaded as a file in the chosen format.
async function exportSources(format, label) {
  const ids = [...new Set(state.citations.map((c) => c.doc_id))];  // in the order first cited
  if (ids.length === 0) return;
  const query = new URLSearchParams(ids.map((id) => ["doc_ids", id]));
  query.set("format", format);
  const status = $("export-status");
  status.textContent = `Exporting ${label}…`;
  let response;
  try {
    response = await api(`/cite?${query}`);
  } catch (error) {
    status.textContent = `Not exported: the request failed (${error.message})`;
    return;
  }
  if (!response.ok) {
    status.textContent = `Not exported: ${await failure(response)}`;
    return;
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = named ? named[1] : "references";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  status.textContent = `Exported ${ids.length} ${ids.length === 1 ? "reference" : "references"} as ${label} (${link.download}).`;
}

// --- the citation panel and the document view ------------------------------------------------

function highlighted(text, start, end, markClass) {
  const fragment = document.createDocumentFragment();
  const mark = document.createElement("mark");
  if (markClass) mark.className = markClass;
  mark.textContent = text.slice(start, end);
  fragment.append(text.slice(0, start), mark, text.slice(end));
  return { fragment, mark };
}

function openPanel(citation, opener) {
  state.lastMarker = opener;
  document.querySelectorAll(".marker[aria-current]").forEach((m) => m.removeAttribute("aria-current"));
  document.querySelectorAll(`.marker[data-marker="${citation.marker}"]`).forEach((m) => m.setAttribute("aria-current", "true"));
  $("panel-title").textContent = `[${citation.marker}] ${citation.title}`;
  $("panel-meta").replaceChildren(aboutElement(describe(citation)), whereElement(citation));
  const link = $("panel-link");
  link.textContent = "";
  if (isWebAddress(citation.source)) {
    const anchor = document.createElement("a");
    anchor.href = citation.source;
    anchor.rel = "noopener noreferrer";
    anchor.target = "_blank";
    anchor.textContent = citation.source;
    link.append(anchor);
  } else if (citation.source) {
    link.textContent = citation.source;  // a description of where it came from, not an address
  }
  const passage = $("panel-passage");
  passage.textContent = "";
  passage.append(highlighted(citation.text, citation.quote_start, citation.quote_end).fragment);
  $("show-document").onclick = () => showDocument(citation.doc_id, citation);
  $("panel").hidden = false;
  document.querySelector(".layout").classList.add("with-panel");
  $("panel").focus();
}

// Only http(s) addresses become links: a source may be a plain description ("CancerIndex.org,
// ...") or, in a hostile document, "javascript:...".
function isWebAddress(source) {
  if (!source || !/^https?:\/\//i.test(source)) return false;
  try {
    return ["http:", "https:"].includes(new URL(source).protocol);
  } catch (_) {
    return false;
  }
}

function closePanel(returnFocus = true) {
  $("panel").hidden = true;
  document.querySelector(".layout").classList.remove("with-panel");
  document.querySelectorAll(".marker[aria-current]").forEach((m) => m.removeAttribute("aria-current"));
  if (returnFocus && state.lastMarker) state.lastMarker.focus();
}

async function showDocument(docId, citation) {
  const response = await api(`/documents/${encodeURIComponent(docId)}`);
  if (!response.ok) {
    showError(await failure(response));
    return;
  }
  const doc = await response.json();
  $("document-title").textContent = doc.title;
  $("document-meta").textContent = [describe(doc), doc.doc_id].filter(Boolean).join(" · ");
  const body = $("document-text");
  body.textContent = "";
  const at = citation ? doc.text.indexOf(citation.text) : -1;
  if (at < 0) {
    body.textContent = doc.text;
  } else {
    // The passage, and inside it the quoted sentence.
    const passage = document.createElement("mark");
    passage.className = "passage-mark";
    passage.append(highlighted(citation.text, citation.quote_start, citation.quote_end).fragment);
    body.append(doc.text.slice(0, at), passage, doc.text.slice(at + citation.text.length));
  }
  $("document-dialog").showModal();
  const target = body.querySelector("mark:not(.passage-mark)") || body;
  target.scrollIntoView({ block: "center" });
}

// --- filters and facets ------------------------------------------------------------------------

// The filters set on the page, as POST /ask takes them ({} when none is set).
function filtersField() {
  const filters = {};
  const from = $("year-from").value.trim();
  const to = $("year-to").value.trim();
  if (from) filters.year_from = Number(from);
  if (to) filters.year_to = Number(to);
  if ($("journal").value) filters.journals = [$("journal").value];
  return Object.keys(filters).length ? { filters } : {};
}

function describeFilters() {
  const { filters } = filtersField();
  if (!filters) {
    $("filter-summary").textContent = "(all documents)";
    return;
  }
  const years = filters.year_from || filters.year_to
    ? [filters.year_from ? `from ${filters.year_from}` : "", filters.year_to ? `to ${filters.year_to}` : ""].filter(Boolean).join(" ")
    : "";
  $("filter-summary").textContent = `(${[years, ...(filters.journals || [])].filter(Boolean).join(" · ")})`;
}

function clearFilters() {
  $("year-from").value = "";
  $("year-to").value = "";
  $("journal").value = "";
  describeFilters();
}

// GET /facets: the journals the filter offers, and the counts the documents view shows.
async function loadFacets() {
  const response = await api("/facets");
  if (!response.ok) return;
  const facets = await response.json();
  const journal = $("journal");
  const chosen = journal.value;
  journal.replaceChildren(journal.options[0]);
  for (const { value, count } of facets.journals) {
    if (value === null) continue;
    const option = document.createElement("option");
    option.value = value;
    option.textContent = `${value} (${count})`;
    journal.append(option);
  }
  journal.value = [...journal.options].some((o) => o.value === chosen) ? chosen : "";
  const years = facets.years.map((y) => y.value).filter((y) => y !== null);
  if (years.length) {
    for (const id of ["year-from", "year-to"]) $(id).placeholder = `${Math.min(...years)}–${Math.max(...years)}`;
  }
  renderFacet("facet-years", facets.years, "no year", true);
  renderFacet("facet-journals", facets.journals, "no journal", true);
  renderFacet("facet-file-types", facets.file_types, "unknown", false);
  describeFilters();
}

// One facet's values with their document counts; a year or journal filters the list below.
function renderFacet(id, counts, missing, filters) {
  const list = $(id);
  list.textContent = "";
  for (const { value, count } of counts) {
    const item = document.createElement("li");
    let label;
    if (value !== null && filters) {
      label = document.createElement("button");
      label.type = "button";
      label.title = `Show the documents of ${value}`;
      label.addEventListener("click", () => {
        $("filter").value = String(value);
        filterDocuments();
      });
    } else {
      label = document.createElement("span");
    }
    label.textContent = value === null ? missing : String(value);
    const number = document.createElement("span");
    number.className = "count";
    number.textContent = String(count);
    item.dataset.value = value === null ? "" : String(value);
    item.append(label, number);
    list.append(item);
  }
}

// --- the documents view ---------------------------------------------------------------------

async function loadDocuments() {
  const response = await api("/documents?limit=1000");
  if (!response.ok) {
    $("document-count").textContent = await failure(response);
    return;
  }
  const { documents, total } = await response.json();
  const list = $("document-list");
  list.textContent = "";
  for (const doc of documents) {
    const item = document.createElement("li");
    item.dataset.search = [doc.title, doc.authors, doc.journal, doc.year, doc.doc_id].filter(Boolean).join(" ").toLowerCase();
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = doc.title;
    button.addEventListener("click", () => showDocument(doc.doc_id, null));
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = [describe(doc), doc.doc_id, `${doc.chunks} passages`].filter(Boolean).join(" · ");
    item.append(button, meta);
    list.append(item);
  }
  list.dataset.total = total;
  filterDocuments();
}

function filterDocuments() {
  const words = $("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const item of $("document-list").children) {
    item.hidden = !words.every((w) => item.dataset.search.includes(w));
    if (!item.hidden) shown += 1;
  }
  const total = $("document-list").dataset.total || 0;
  $("document-count").textContent = words.length ? `${shown} of ${total} documents` : `${total} documents`;
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  $("upload-status").textContent = `Adding ${file.name}…`;
  const response = await api("/documents", { method: "POST", body: form });
  if (!response.ok) {
    $("upload-status").textContent = `Not added: ${await failure(response)}`;
    return;
  }
  let report = await response.json();
  if (response.status === 202) {  // a long write: follow its job until it ends
    report = await followJob(report, file.name);
    if (report === null) return;
  }
  const ids = [...report.added, ...report.updated];
  $("upload-status").textContent = ids.length
    ? `Added ${ids.join(", ")}: it can be asked about now.`
    : "Nothing changed: the same content is already indexed.";
  $("upload-form").reset();
  await Promise.all([loadDocuments(), loadFacets()]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function describeProgress(job, name) {
  const progress = job.progress;
  if (!progress) return `${name}: ${job.state}…`;
  const count = progress.total ? ` ${progress.done.toLocaleString()} of ${progress.total.toLocaleString()}` : "";
  const eta = progress.eta_s ? `, about ${progress.eta_s < 90 ? `${Math.ceil(progress.eta_s)} s` : `${Math.round(progress.eta_s / 60)} min`} left` : "";
  return `Indexing ${name}: ${progress.stage}${count}${eta}…`;
}

// The result of a write answered 202, or null when it failed (the reason is shown).
async function followJob(job, name) {
  const bar = $("upload-progress");
  bar.hidden = false;
  try {
    for (;;) {
      $("upload-status").textContent = describeProgress(job, name);
      if (job.progress && job.progress.total) {
        bar.max = job.progress.total;
        bar.value = job.progress.done;
      } else {
        bar.removeAttribute("value");  // indeterminate
      }
      if (job.state === "done") return job.result;
      if (job.state === "failed") {
        $("upload-status").textContent = `Not added: ${job.error.status}: ${job.error.detail}`;
        return null;
      }
      await sleep(1000);
      const response = await api(job.status_url);
      if (!response.ok) {
        $("upload-status").textContent = `Lost track of ${name}: ${await failure(response)}`;
        return null;
      }
      job = await response.json();
    }
  } finally {
    bar.hidden = true;
  }
}

// --- wiring -----------------------------------------------------------------------------------

function selectView(name) {
  for (const view of ["ask", "documents"]) {
    const selected = view === name;
    $(`tab-${view}`).setAttribute("aria-selected", String(selected));
    $(`view-${view}`).hidden = !selected;
  }
  if (name === "documents") {
    loadDocuments();
    loadFacets();
  }
}

async function loadExamples() {
  const response = await api("/examples?limit=4");
  if (!response.ok) return;
  const { questions } = await response.json();
  for (const question of questions) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = question;
    button.addEventListener("click", () => {
      $("question").value = question;
      ask(question, $("mode").value);
    });
    item.append(button);
    $("examples").append(item);
  }
}

async function loadModes() {
  const response = await api("/stats");
  if (!response.ok) return;
  const stats = await response.json();
  const generative = $("mode").querySelector('option[value="generative"]');
  generative.disabled = !(stats.answer_modes || []).includes("generative");
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (question) ask(question, $("mode").value);
  });
  $("new-conversation").addEventListener("click", newConversation);
  $("tab-ask").addEventListener("click", () => selectView("ask"));
  $("tab-documents").addEventListener("click", () => selectView("documents"));
  $("panel-close").addEventListener("click", () => closePanel());
  $("panel").addEventListener("keydown", (event) => { if (event.key === "Escape") closePanel(); });
  $("document-close").addEventListener("click", () => $("document-dialog").close());
  $("filter").addEventListener("input", filterDocuments);
  $("upload-form").addEventListener("submit", upload);
  for (const button of document.querySelectorAll(".export button")) {
    button.addEventListener("click", () => exportSources(button.dataset.format, button.textContent));
  }
  for (const id of ["year-from", "year-to", "journal"]) $(id).addEventListener("input", describeFilters);
  $("clear-filters").addEventListener("click", clearFilters);
  loadExamples();
  loadModes();
  loadFacets();
});
