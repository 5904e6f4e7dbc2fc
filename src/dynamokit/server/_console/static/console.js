// dynamokit console: copy buttons, confirmations, the explorer's key labels and selection, the stream
// tail, the live usage page's refresh.
// No framework, no build step. Every value from the database is set with textContent, never as HTML.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function api(operation, request) {
  const response = await fetch("/console/api", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
    body: JSON.stringify({operation, request}),
    credentials: "same-origin",
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${answer.code}: ${answer.message}`);
  return answer;
}

function copyButtons() {
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const text = button.closest(".code").querySelector("pre").textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(button.closest(".code").querySelector("pre"));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        button.textContent = "Selected: Ctrl-C";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }
}

function confirmations() {
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (event) => {
      const message = event.submitter?.dataset.confirm || form.dataset.confirm;
      if (message && !confirm(message)) event.preventDefault();
    });
  }
}

function explorer() {
  const form = document.getElementById("explorer");
  if (!form) return;
  const index = document.getElementById("index");
  const update = () => {
    const option = index.selectedOptions[0];
    document.getElementById("pk-name").textContent = option.dataset.pk;
    document.getElementById("sk-name").textContent = option.dataset.sk || "(no sort key)";
    const query = form.querySelector('input[name="mode"][value="query"]').checked;
    for (const row of form.querySelectorAll(".query-only")) row.hidden = !query;
  };
  index.addEventListener("change", update);
  for (const radio of form.querySelectorAll('input[name="mode"]')) radio.addEventListener("change", update);
  update();
}

function selection() {
  const form = document.getElementById("bulk");
  if (!form) return;
  const all = document.getElementById("select-all");
  const button = document.getElementById("delete-selected");
  const boxes = () => [...form.querySelectorAll('input[name="key"]')];
  const update = () => {
    const n = boxes().filter((box) => box.checked).length;
    all.checked = n > 0 && n === boxes().length;
    button.disabled = n === 0;
    button.textContent = `Delete selected (${n})`;
    button.dataset.confirm = `Delete ${n} selected item${n === 1 ? "" : "s"}? This cannot be undone.`;
  };
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
    update();
  });
  form.addEventListener("change", update);
  update();
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) {
    const pre = document.createElement("pre");
    pre.className = className;
    pre.textContent = text;
    td.append(pre);
  } else {
    td.textContent = text;
  }
  return td;
}

// The attribute paths a MODIFY changed, [path, "added" | "removed" | "changed"], descending into maps.
function diff(before, after, prefix = "") {
  const out = [];
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const path = prefix + name;
    if (!(name in before)) out.push([path, "added"]);
    else if (!(name in after)) out.push([path, "removed"]);
    else if (before[name].M && after[name].M) out.push(...diff(before[name].M, after[name].M, path + "."));
    else if (JSON.stringify(before[name]) !== JSON.stringify(after[name])) out.push([path, "changed"]);
  }
  return out;
}

function changeList(changes) {
  const td = document.createElement("td");
  td.className = "changes";
  for (const [path, kind] of changes) {
    const line = document.createElement("div");
    line.className = kind;
    line.textContent = `${{added: "+", removed: "−", changed: "~"}[kind]} ${path}`;
    td.append(line);
  }
  return td;
}

// An image as JSON, one top-level attribute a line, the lines of the changed attributes marked.
function image(item, marks, side) {
  const td = document.createElement("td");
  if (!item) return td;
  const pre = document.createElement("pre");
  pre.className = `json ${side}`;
  const names = Object.keys(item);
  pre.append("{\n");
  names.forEach((name, i) => {
    const line = document.createElement("span");
    const kind = marks.get(name);
    if (kind && !(kind === "added" && side === "old") && !(kind === "removed" && side === "new")) {
      line.className = kind;
      line.title = kind;
    }
    line.textContent = ` ${JSON.stringify(name)}: ${JSON.stringify(item[name])}${i + 1 < names.length ? "," : ""}\n`;
    pre.append(line);
  });
  pre.append("}");
  td.append(pre);
  return td;
}

function tail() {
  const box = document.getElementById("tail");
  if (!box) return;
  const arn = box.dataset.streamArn;
  const status = document.getElementById("tail-status");
  const body = document.getElementById("tail-records");
  const toggle = document.getElementById("tail-toggle");
  const from = document.getElementById("tail-from");
  let iterators = new Map();  // shard id -> iterator (null once the shard is closed and read)
  let running = true, shown = 0, generation = 0, started = false;

  async function openShards(type) {
    const description = (await api("DescribeStream", {StreamArn: arn})).StreamDescription;
    // The shards there at the start are read from `type`; shards that appear later (rollover), from their start.
    const kind = started ? "TRIM_HORIZON" : type;
    for (const shard of description.Shards) {
      if (iterators.has(shard.ShardId)) continue;
      if (shard.SequenceNumberRange.EndingSequenceNumber && kind === "LATEST") {
        iterators.set(shard.ShardId, null);  // closed: nothing new will come from it
        continue;
      }
      const request = {StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: kind};
      iterators.set(shard.ShardId, (await api("GetShardIterator", request)).ShardIterator);
    }
    started = true;
  }

  function show(record) {
    const data = record.dynamodb;
    const row = document.createElement("tr");
    row.className = "record " + record.eventName.toLowerCase();
    const when = data.ApproximateCreationDateTime ? new Date(data.ApproximateCreationDateTime * 1000) : null;
    const changes = data.OldImage && data.NewImage ? diff(data.OldImage, data.NewImage) : [];
    const top = new Map(changes.map(([path, kind]) => [path.split(".")[0], kind === "added" || kind === "removed"
      ? kind : "changed"]));
    row.append(cell(String(++shown)), cell(record.eventName), cell(when ? when.toISOString() : ""),
               cell(JSON.stringify(data.Keys), "json"), changeList(changes),
               image(data.OldImage, top, "old"), image(data.NewImage, top, "new"));
    body.prepend(row);
    while (body.rows.length > 500) body.lastElementChild.remove();
  }

  async function poll(mine) {
    if (mine !== generation) return;
    try {
      if (running) {
        await openShards(from.value);
        for (const [shard, iterator] of iterators) {
          if (!iterator) continue;
          const answer = await api("GetRecords", {ShardIterator: iterator, Limit: 100});
          answer.Records.forEach(show);
          iterators.set(shard, answer.NextShardIterator || null);
        }
        status.textContent = `${shown} records · polled ${new Date().toLocaleTimeString()}`;
      }
    } catch (error) {
      status.textContent = String(error.message || error);
    }
    setTimeout(() => poll(mine), 1000);
  }

  toggle.addEventListener("click", () => {
    running = !running;
    toggle.textContent = running ? "Pause" : "Resume";
  });
  from.addEventListener("change", () => {
    iterators = new Map();
    started = false;
    body.replaceChildren();
    shown = 0;
    poll(++generation);
  });
  poll(generation);
}

function usage() {
  const box = document.getElementById("usage");
  if (!box) return;
  const status = document.getElementById("usage-status");
  const fill = (id, rows, names) => {
    const body = document.querySelector(`#${id} tbody`);
    if (!body) return;
    body.replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      row.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i >= names) td.className = "num";
        tr.append(td);
      });
      return tr;
    }));
  };
  async function refresh() {
    try {
      const response = await fetch(box.dataset.refresh, {credentials: "same-origin"});
      if (!response.ok) throw new Error(`refresh failed: HTTP ${response.status}`);
      const data = await response.json();
      fill("usage-tables", data.tables, 1);
      fill("usage-errors", data.errors, 2);
      fill("usage-operations", data.operations, 1);
      document.getElementById("usage-seconds").textContent = data.seconds;
      document.getElementById("usage-since").textContent = data.since;
      status.textContent = `refreshed ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      status.textContent = String(error.message || error);
    }
    setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  copyButtons();
  confirmations();
  explorer();
  selection();
  tail();
  usage();
});
