"""The HTML form's fixed parts: its own words in each language, its stylesheet and its script.

Kept apart from :mod:`sdt_survey.platforms.html`, which fills them with the
survey; the script is plain ES2017 so any current browser runs it.
"""

#: The form's own words (buttons, hints, messages). ``{name}`` is filled in by the script.
UI_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "language": "Language",
        "progress": "{answered} of {shown} questions answered",
        "optional": "(optional)",
        "submit.download": "Submit and save my answers",
        "submit.post": "Submit",
        "file_format": "Save my answers as",
        "format.json": "JSON file (recommended)",
        "format.csv": "CSV file (spreadsheet)",
        "error.required": "Please answer this question.",
        "error.invalid": "This answer is not valid.",
        "hint.multiple": "Select all that apply.",
        "hint.integer": "Enter a whole number.",
        "hint.integer_min": "Enter a whole number, {min} or more.",
        "hint.integer_max": "Enter a whole number, {max} or less.",
        "hint.integer_range": "Enter a whole number from {min} to {max}.",
        "hint.number": "Enter a number.",
        "hint.number_min": "Enter a number, {min} or more.",
        "hint.number_max": "Enter a number, {max} or less.",
        "hint.number_range": "Enter a number from {min} to {max}.",
        "status.problem": "1 question needs your attention; it is marked below.",
        "status.problems": "{count} questions need your attention; they are marked below.",
        "status.sending": "Sending your answers…",
        "post.failed": (
            "Your answers could not be sent ({detail}). Check your connection and try again, "
            "or save them as a file and send it to the survey team."
        ),
        "post.network": "no connection to the server",
        "post.download": "Save my answers as a file",
        "done.title": "Thank you",
        "done.sent": "Your answers have been sent. You can close this page.",
        "done.saved": "Your answers were saved as {file}. Please send this file to the survey team.",
        "done.again": "Save the file again",
        "footer.instruments": "Instruments",
        "footer.generated": "Made with sdt-survey {version}.",
        "noscript": (
            "This survey needs JavaScript. Please turn it on, or ask the survey team for a paper version."
        ),
    },
    "es": {
        "language": "Idioma",
        "progress": "{answered} de {shown} preguntas respondidas",
        "optional": "(opcional)",
        "submit.download": "Enviar y guardar mis respuestas",
        "submit.post": "Enviar",
        "file_format": "Guardar mis respuestas como",
        "format.json": "Archivo JSON (recomendado)",
        "format.csv": "Archivo CSV (hoja de cálculo)",
        "error.required": "Por favor, responda esta pregunta.",
        "error.invalid": "Esta respuesta no es válida.",
        "hint.multiple": "Seleccione todas las opciones que correspondan.",
        "hint.integer": "Escriba un número entero.",
        "hint.integer_min": "Escriba un número entero igual o mayor que {min}.",
        "hint.integer_max": "Escriba un número entero igual o menor que {max}.",
        "hint.integer_range": "Escriba un número entero entre {min} y {max}.",
        "hint.number": "Escriba un número.",
        "hint.number_min": "Escriba un número igual o mayor que {min}.",
        "hint.number_max": "Escriba un número igual o menor que {max}.",
        "hint.number_range": "Escriba un número entre {min} y {max}.",
        "status.problem": "1 pregunta necesita su atención; está marcada abajo.",
        "status.problems": "{count} preguntas necesitan su atención; están marcadas abajo.",
        "status.sending": "Enviando sus respuestas…",
        "post.failed": (
            "No se pudieron enviar sus respuestas ({detail}). Compruebe su conexión e inténtelo de "
            "nuevo, o guárdelas en un archivo y envíelo al equipo de la encuesta."
        ),
        "post.network": "sin conexión con el servidor",
        "post.download": "Guardar mis respuestas en un archivo",
        "done.title": "Gracias",
        "done.sent": "Sus respuestas se han enviado. Puede cerrar esta página.",
        "done.saved": (
            "Sus respuestas se guardaron en el archivo {file}. Envíe este archivo al equipo de la encuesta."
        ),
        "done.again": "Guardar el archivo de nuevo",
        "footer.instruments": "Instrumentos",
        "footer.generated": "Creado con sdt-survey {version}.",
        "noscript": (
            "Esta encuesta necesita JavaScript. Actívelo o pida una versión en papel "
            "al equipo de la encuesta."
        ),
    },
    "fr": {
        "language": "Langue",
        "progress": "{answered} questions répondues sur {shown}",
        "optional": "(facultatif)",
        "submit.download": "Envoyer et enregistrer mes réponses",
        "submit.post": "Envoyer",
        "file_format": "Enregistrer mes réponses au format",
        "format.json": "Fichier JSON (recommandé)",
        "format.csv": "Fichier CSV (tableur)",
        "error.required": "Veuillez répondre à cette question.",
        "error.invalid": "Cette réponse n'est pas valide.",
        "hint.multiple": "Cochez toutes les réponses qui s'appliquent.",
        "hint.integer": "Saisissez un nombre entier.",
        "hint.integer_min": "Saisissez un nombre entier égal ou supérieur à {min}.",
        "hint.integer_max": "Saisissez un nombre entier égal ou inférieur à {max}.",
        "hint.integer_range": "Saisissez un nombre entier entre {min} et {max}.",
        "hint.number": "Saisissez un nombre.",
        "hint.number_min": "Saisissez un nombre égal ou supérieur à {min}.",
        "hint.number_max": "Saisissez un nombre égal ou inférieur à {max}.",
        "hint.number_range": "Saisissez un nombre entre {min} et {max}.",
        "status.problem": "1 question demande votre attention ; elle est signalée ci-dessous.",
        "status.problems": "{count} questions demandent votre attention ; elles sont signalées ci-dessous.",
        "status.sending": "Envoi de vos réponses…",
        "post.failed": (
            "Vos réponses n'ont pas pu être envoyées ({detail}). Vérifiez votre connexion et réessayez, "
            "ou enregistrez-les dans un fichier et envoyez-le à l'équipe de l'enquête."
        ),
        "post.network": "pas de connexion au serveur",
        "post.download": "Enregistrer mes réponses dans un fichier",
        "done.title": "Merci",
        "done.sent": "Vos réponses ont été envoyées. Vous pouvez fermer cette page.",
        "done.saved": (
            "Vos réponses ont été enregistrées dans le fichier {file}. "
            "Veuillez envoyer ce fichier à l'équipe de l'enquête."
        ),
        "done.again": "Enregistrer le fichier à nouveau",
        "footer.instruments": "Instruments",
        "footer.generated": "Créé avec sdt-survey {version}.",
        "noscript": (
            "Cette enquête nécessite JavaScript. Activez-le, ou demandez une version papier "
            "à l'équipe de l'enquête."
        ),
    },
}


STYLE = """
:root { --sdt-accent: #1d4f91; --sdt-error: #a4161a; --sdt-line: #c9ced6; --sdt-question: 34%;
  color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; font-size: 1.05rem; line-height: 1.45; color: #1b1f24; background: #fff; }
.sdt-header, main, .sdt-footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 1.2rem 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .4rem; }
h3 { font-size: 1.15rem; margin: 1.6rem 0 .4rem; }
.sdt-preamble { white-space: pre-line; margin: .2rem 0 1rem; }
.sdt-language select { font: inherit; padding: .2rem; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { padding: 0; }
.sdt-item { padding: .8rem 0; border-top: 1px solid var(--sdt-line); }
.sdt-item > legend, .sdt-question { display: block; font-weight: 600; margin-bottom: .4rem; }
/* A floated legend is laid out like any block, so the item's top border is not cut by it. */
fieldset.sdt-item { display: flow-root; }
fieldset.sdt-item > legend { float: left; width: 100%; }
fieldset.sdt-item > legend ~ * { clear: both; }
.sdt-optional, .sdt-hint { font-weight: 400; color: #4a5260; }
.sdt-hint { margin: 0 0 .4rem; font-size: .95rem; }
.sdt-options label { cursor: pointer; }
.sdt-single .sdt-options label, .sdt-multiple .sdt-options label { display: flex; gap: .5rem;
  align-items: flex-start; padding: .25rem 0; }
input[type=radio], input[type=checkbox] { width: 1.2rem; height: 1.2rem; margin: .15rem 0 0;
  accent-color: var(--sdt-accent); flex: none; }
input[type=number], input[type=date], textarea { font: inherit; padding: .35rem .5rem;
  border: 1px solid #6b7280; border-radius: 4px; }
input[type=number] { width: 9rem; }
textarea { width: 100%; }
:focus-visible { outline: 3px solid var(--sdt-accent); outline-offset: 2px; }
.sdt-likert-block { margin-top: .5rem; }
.sdt-likert-head { display: flex; position: sticky; top: 0; z-index: 1; background: #fff;
  border-bottom: 2px solid var(--sdt-line); font-size: .75rem; font-weight: 600; text-align: center;
  padding: .4rem 0; }
.sdt-likert-head .sdt-corner { flex: 0 0 var(--sdt-question); }
/* Equal columns (min-width: 0), so each label stays above its radio buttons; a word too long for
   its column wraps rather than widening it. */
.sdt-likert-head span:not(.sdt-corner) { flex: 1 1 0; min-width: 0; padding: 0 .15rem;
  overflow-wrap: break-word; hyphens: auto; }
fieldset.sdt-likert > legend { width: var(--sdt-question); padding-right: 1rem; font-weight: 400;
  margin: 0; }
fieldset.sdt-likert > legend ~ .sdt-options { clear: none; }
fieldset.sdt-likert .sdt-options { display: flex; margin-left: var(--sdt-question); }
fieldset.sdt-likert .sdt-options label { flex: 1 1 0; min-width: 0; display: flex; justify-content: center;
  padding: .35rem 0; border-radius: 4px; }
fieldset.sdt-likert .sdt-options label:hover { background: #eef2f8; }
fieldset.sdt-likert .sdt-choice { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
fieldset.sdt-likert .sdt-error { clear: both; }
@media (max-width: 44rem) {
  .sdt-likert-head { display: none; }
  fieldset.sdt-likert > legend { width: 100%; font-weight: 600; margin-bottom: .4rem; }
  fieldset.sdt-likert > legend ~ .sdt-options { clear: both; }
  fieldset.sdt-likert .sdt-options { margin-left: 0; flex-direction: column; }
  fieldset.sdt-likert .sdt-options label { justify-content: flex-start; gap: .5rem; }
  fieldset.sdt-likert .sdt-choice { position: static; width: auto; height: auto; clip: auto; }
}
.sdt-item.sdt-invalid { box-shadow: inset 4px 0 0 var(--sdt-error); padding-left: .8rem; }
/* In a likert grid only the question moves right, so the radios stay under their column labels. */
fieldset.sdt-likert.sdt-invalid { padding-left: 0; }
fieldset.sdt-likert.sdt-invalid > legend,
fieldset.sdt-likert.sdt-invalid > .sdt-error { padding-left: .8rem; }
.sdt-error { color: var(--sdt-error); font-weight: 600; margin: .4rem 0 0; }
.sdt-error::before { content: "\\26A0\\FE0E  "; }
.sdt-submit { border-top: 1px solid var(--sdt-line); margin-top: 1.5rem; padding: 1rem 0 2rem; }
.sdt-file-format label { margin-right: 1.5rem; display: inline-flex; gap: .4rem; align-items: center; }
.sdt-file-format legend { font-weight: 600; margin-bottom: .3rem; }
button { font: inherit; padding: .55rem 1.2rem; margin-top: 1rem; border-radius: 4px;
  border: 1px solid var(--sdt-accent); background: var(--sdt-accent); color: #fff; cursor: pointer; }
button[type=button] { background: #fff; color: var(--sdt-accent); }
button:disabled { opacity: .6; cursor: progress; }
.sdt-status { font-weight: 600; }
.sdt-alert { color: var(--sdt-error); font-weight: 600; }
.sdt-done { padding: 1rem 0 2rem; }
.sdt-progress { position: sticky; bottom: 0; background: #f4f6f9; border-top: 1px solid var(--sdt-line);
  padding: .45rem 1rem; display: flex; gap: .8rem; align-items: center; justify-content: center;
  font-size: .9rem; }
.sdt-progress progress { width: min(20rem, 50vw); height: .8rem; accent-color: var(--sdt-accent); }
.sdt-footer { font-size: .8rem; color: #4a5260; padding-top: 1rem; padding-bottom: 2rem; }
.sdt-citations { padding-left: 1.2rem; }
[hidden] { display: none !important; }
@media print { .sdt-progress, .sdt-submit, .sdt-language { display: none; } }
"""

# The script is plain ES2017 so any current browser runs it; /*SHOW_IF*/ becomes the branching rules.
SCRIPT = r"""
(() => {
  "use strict";
  const DATA = JSON.parse(document.getElementById("sdt-survey-data").textContent);
  const form = document.getElementById("sdt-form");
  const status = document.getElementById("sdt-status");
  const submitButton = document.getElementById("sdt-submit");
  const postError = document.getElementById("sdt-post-error");
  const done = document.getElementById("sdt-done");
  const ITEMS = {};
  const boxes = {};
  for (const item of DATA.items) {
    ITEMS[item.id] = item;
    boxes[item.id] = document.getElementById("item-" + item.id);
  }
  let language = DATA.language;
  let attempted = false;
  let lastRecord = null;
  const problems = {};  // item id -> [ui key, params] of the message shown next to it

  // ---- show_if runtime: the rules of sdt_survey.instrument.expressions.evaluate ----
  // An unanswered item makes a comparison false, except != and "not in", which are true.
  // Codes compare as numbers when both sides are numbers ("1" equals 1).
  function missing(x) {
    return x === null || x === undefined || (typeof x === "string" && x.trim() === "") ||
      (Array.isArray(x) && x.length === 0);
  }
  function num(x) {
    if (missing(x) || Array.isArray(x) || typeof x === "boolean") return NaN;
    if (typeof x === "number") return x;
    const s = String(x).trim();
    return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
  }
  function txt(x) { return missing(x) ? null : String(x).trim(); }
  function same(a, b) {
    const na = num(a), nb = num(b);
    if (!Number.isNaN(na) && !Number.isNaN(nb)) return na === nb;
    const ta = txt(a), tb = txt(b);
    return ta !== null && tb !== null && ta === tb;
  }
  // A multiple-choice answer is a list: == means "this option is among those selected".
  function eq(a, b) {
    if (Array.isArray(a)) return a.some((x) => same(x, b));
    if (Array.isArray(b)) return b.some((x) => same(a, x));
    return same(a, b);
  }
  function ne(a, b) { return !eq(a, b); }
  function lt(a, b) { return num(a) < num(b); }
  function le(a, b) { return num(a) <= num(b); }
  function gt(a, b) { return num(a) > num(b); }
  function ge(a, b) { return num(a) >= num(b); }
  function isIn(a, values) { return values.some((v) => eq(a, v)); }
  const SHOW_IF = {
/*SHOW_IF*/
  };

  // ---- answers ----
  function inputsOf(id) { return Array.from(boxes[id].querySelectorAll("input, textarea")); }
  function answerOf(id) {
    const item = ITEMS[id];
    if (!item || boxes[id].hidden) return null;
    const inputs = inputsOf(id);
    if (item.type === "likert" || item.type === "single") {
      const picked = inputs.find((i) => i.checked);
      return picked ? item.values[Number(picked.dataset.index)] : null;
    }
    if (item.type === "multiple") {
      const picked = inputs.filter((i) => i.checked).map((i) => item.values[Number(i.dataset.index)]);
      return picked.length ? picked : null;
    }
    const raw = inputs[0].value.trim();
    if (raw === "") return null;
    if (item.type === "integer" || item.type === "number") {
      const n = Number(raw);
      return Number.isFinite(n) ? n : null;
    }
    return raw;
  }
  function clearItem(id) {
    for (const input of inputsOf(id)) {
      if (input.type === "radio" || input.type === "checkbox") input.checked = false;
      else input.value = "";
    }
  }
  function isShown(id, answers) {
    const rule = SHOW_IF[id];
    return rule ? Boolean(rule((ref) => (ref in answers ? answers[ref] : null))) : true;
  }

  // ---- branching and progress ----
  function refresh() {
    // Items depend only on earlier items, so one pass in display order settles every rule,
    // including items hidden because an item they depend on was just hidden and cleared.
    for (const item of DATA.items) {
      const rule = SHOW_IF[item.id];
      const shown = rule ? Boolean(rule(answerOf)) : true;
      if (!shown) {
        clearItem(item.id);
        setProblem(item.id, null);
      }
      boxes[item.id].hidden = !shown;
    }
    for (const section of document.querySelectorAll(".sdt-section")) {
      const items = Array.from(section.querySelectorAll(".sdt-item"));
      section.hidden = items.length > 0 && items.every((box) => box.hidden);
    }
    updateProgress();
  }
  function updateProgress() {
    const shown = DATA.items.filter((item) => !boxes[item.id].hidden);
    const answered = shown.filter((item) => !missing(answerOf(item.id)));
    const bar = document.getElementById("sdt-progress");
    bar.max = Math.max(shown.length, 1);
    bar.value = answered.length;
    const label = document.getElementById("sdt-progress-text");
    label.dataset.answered = String(answered.length);
    label.dataset.shown = String(shown.length);
    label.textContent = ui("progress", label.dataset);
  }

  // ---- languages ----
  function ui(key, params) {
    let text = (DATA.ui[language] || DATA.ui[DATA.language])[key];
    for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(value);
    return text;
  }
  function setLanguage(next) {
    if (!DATA.texts[next]) return;
    language = next;
    document.documentElement.lang = next;
    const texts = DATA.texts[next];
    for (const el of document.querySelectorAll("[data-t]")) {
      if (el.dataset.t in texts) el.textContent = texts[el.dataset.t];
    }
    for (const el of document.querySelectorAll("[data-ui]")) el.textContent = ui(el.dataset.ui, el.dataset);
    document.title = texts["survey.title"];
    for (const id of Object.keys(problems)) showProblem(id);
    if (lastRecord && !done.hidden) showDone(lastRecord.kind, lastRecord.file);
    const picker = document.getElementById("sdt-language");
    if (picker) picker.value = next;
  }

  // ---- validation ----
  function hintKey(item) {
    const bounded = (item.min !== null ? "min" : "") + (item.max !== null ? "max" : "");
    const suffix = { "": "", min: "_min", max: "_max", minmax: "_range" }[bounded];
    return ["hint." + item.type + suffix, { min: String(item.min), max: String(item.max) }];
  }
  function problemOf(item) {
    if (boxes[item.id].hidden) return null;
    if (item.type === "integer" || item.type === "number") {
      const input = inputsOf(item.id)[0];
      const raw = input.value.trim();
      const n = Number(raw);
      const bad = input.validity.badInput || (raw !== "" && (!Number.isFinite(n) ||
        (item.type === "integer" && !Number.isInteger(n)) ||
        (item.min !== null && n < item.min) || (item.max !== null && n > item.max)));
      if (bad) return ["error.invalid", {}, hintKey(item)];
    }
    if (item.required && missing(answerOf(item.id))) return ["error.required", {}];
    return null;
  }
  function setProblem(id, problem) {
    if (problem) problems[id] = problem;
    else delete problems[id];
    showProblem(id);
  }
  function showProblem(id) {
    const box = boxes[id];
    const message = box.querySelector(".sdt-error");
    const problem = problems[id];
    let text = "";
    if (problem) {
      text = ui(problem[0], problem[1]);
      if (problem[2]) text += " " + ui(problem[2][0], problem[2][1]);
    }
    message.textContent = text;
    message.hidden = !problem;
    box.classList.toggle("sdt-invalid", Boolean(problem));
    const targets = box.tagName === "FIELDSET" ? [box, ...inputsOf(id)] : inputsOf(id);
    for (const el of targets) {
      const described = (el.getAttribute("aria-describedby") || "").split(" ")
        .filter((d) => d && d !== message.id);
      if (problem) {
        el.setAttribute("aria-invalid", "true");
        described.push(message.id);
      } else {
        el.removeAttribute("aria-invalid");
      }
      if (described.length) el.setAttribute("aria-describedby", described.join(" "));
      else el.removeAttribute("aria-describedby");
    }
  }
  function focusItem(id) {
    const inputs = inputsOf(id);
    const target = inputs.find((i) => i.checked) || inputs[0];
    boxes[id].scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  // ---- the response ----
  function buildRecord() {
    const params = new URLSearchParams(window.location.search);
    const record = {
      format: DATA.format,
      format_version: DATA.formatVersion,
      instruments: DATA.instruments,
      submitted: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      language: language,
    };
    const respondent = (params.get("respondent") || "").trim().slice(0, 200);
    if (respondent) record.respondent = respondent;
    const wave = (params.get("wave") || "").trim().slice(0, 50);
    if (wave) record.wave = /^-?\d{1,9}$/.test(wave) ? Number(wave) : wave;
    // Every item is a key, null when unanswered or hidden, so the reader finds every column.
    const answers = {};
    for (const item of DATA.items) {
      const value = answerOf(item.id);
      answers[item.id] = missing(value) ? null : value;
    }
    record.answers = answers;
    return record;
  }
  function csvCell(value) {
    if (value === null || value === undefined) return "";
    let text = Array.isArray(value) ? value.join(" ") : String(value);
    // A cell a spreadsheet would run as a formula gets a leading apostrophe, as in every CSV
    // sdt-survey writes (the reader takes it off again); numbers stay numbers.
    if (/^'*[=+\-@\t\r]/.test(text) && !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
      text = "'" + text;
    }
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function toCsv(record) {
    // The reader's flat layout: metadata columns prefixed with "_", then one column per item;
    // a multiple-choice answer is its codes separated by spaces.
    const row = {
      _format: record.format,
      _format_version: record.format_version,
      _instruments: record.instruments
        .map((i) => i.id + "@" + i.version + (i.hash ? "#" + i.hash : ""))
        .join(" "),
      _submitted: record.submitted,
      _language: record.language,
    };
    if ("respondent" in record) row._respondent = record.respondent;
    if ("wave" in record) row._wave = record.wave;
    Object.assign(row, record.answers);
    const names = Object.keys(row);
    const header = names.map(csvCell).join(",");
    const values = names.map((n) => csvCell(row[n])).join(",");
    return "\ufeff" + header + "\r\n" + values + "\r\n";
  }
  function fileName(record, kind) {
    const who = (record.respondent || "response").replace(/[^A-Za-z0-9_-]+/g, "_");
    const when = record.submitted.replace(/[-:]/g, "");
    return DATA.fileStem + "-" + who + "-" + when + "." + kind;
  }
  function save(record, kind) {
    const text = kind === "csv" ? toCsv(record) : JSON.stringify(record, null, 2) + "\n";
    const type = kind === "csv" ? "text/csv;charset=utf-8" : "application/json";
    const url = URL.createObjectURL(new Blob([text], { type: type }));
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName(record, kind);
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    return link.download;
  }
  function showDone(kind, file) {
    form.hidden = true;
    done.hidden = false;
    document.getElementById("sdt-done-text").textContent =
      kind === "post" ? ui("done.sent") : ui("done.saved", { file: file });
    document.getElementById("sdt-download-again").hidden = kind === "post";
  }
  async function send(record) {
    submitButton.disabled = true;
    postError.hidden = true;
    status.textContent = ui("status.sending");
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 30000);
    try {
      const response = await fetch(DATA.postUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(record),
        cache: "no-store",
        signal: abort.signal,
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      status.textContent = "";
      lastRecord = { kind: "post", file: null, record: record };
      showDone("post", null);
      done.focus();
    } catch (error) {
      status.textContent = "";
      const detail = /^HTTP \d+$/.test(error.message) ? error.message : ui("post.network");
      postError.querySelector("p").textContent = ui("post.failed", { detail: detail });
      postError.hidden = false;
      lastRecord = { kind: "failed", file: null, record: record };
    } finally {
      clearTimeout(timer);
      submitButton.disabled = false;
    }
  }

  // ---- events ----
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempted = true;
    refresh();
    const invalid = [];
    for (const item of DATA.items) {
      const problem = problemOf(item);
      setProblem(item.id, problem);
      if (problem) invalid.push(item.id);
    }
    if (invalid.length) {
      status.textContent = invalid.length === 1
        ? ui("status.problem") : ui("status.problems", { count: String(invalid.length) });
      focusItem(invalid[0]);
      return;
    }
    status.textContent = "";
    const record = buildRecord();
    if (DATA.postUrl) {
      send(record);
      return;
    }
    const picked = form.querySelector('input[name="sdt-format"]:checked');
    const kind = picked ? picked.value : "json";
    const file = save(record, kind);
    lastRecord = { kind: kind, file: file, record: record };
    showDone(kind, file);
    done.focus();
  });
  function onAnswer(event) {
    const box = event.target.closest(".sdt-item");
    refresh();
    // After a first submit, a message goes away (or changes) as soon as the answer is fixed.
    if (attempted && box) setProblem(box.dataset.item, problemOf(ITEMS[box.dataset.item]));
  }
  form.addEventListener("input", onAnswer);
  form.addEventListener("change", onAnswer);
  document.getElementById("sdt-post-download").addEventListener("click", () => {
    if (lastRecord) save(lastRecord.record, "json");
  });
  document.getElementById("sdt-download-again").addEventListener("click", () => {
    if (lastRecord) save(lastRecord.record, lastRecord.kind === "csv" ? "csv" : "json");
  });
  const picker = document.getElementById("sdt-language");
  if (picker) picker.addEventListener("change", () => setLanguage(picker.value));

  // A read-only view for scripts and tests: the current answers and the branching rules.
  window.sdtSurvey = Object.freeze({
    answers: () => buildRecord().answers,
    isShown: isShown,
    setLanguage: setLanguage,
  });
  const requested = new URLSearchParams(window.location.search).get("lang");
  if (requested && DATA.texts[requested]) setLanguage(requested);
  refresh();
})();
"""
