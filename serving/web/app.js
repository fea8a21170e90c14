// The support agents' chat page. The API is stateless like OpenAI's, so the
// page keeps the conversation and sends all of it with every question; the
// reply streams back as Server-Sent Events. Model output reaches the page
// only through textContent, never as markup.
"use strict";

(() => {
  const KEY_STORAGE = "nebras.apiKey";
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const input = $("input");
  const composer = $("composer");
  const sendButton = $("send");
  const stopButton = $("stop");
  const newButton = $("new");
  const errorBox = $("error");
  const modelLine = $("model");
  const keyForm = $("key-form");
  const keyInput = $("key");

  let history = []; // {role: "user" | "assistant", content}
  let conversation = 0; // bumped by "New conversation" so late replies are dropped
  let inflight = null; // the AbortController of the streaming reply

  function headers(json) {
    const h = {};
    if (json) h["Content-Type"] = "application/json";
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function askForKey() {
    keyForm.hidden = false;
    keyInput.focus();
  }

  function addTurn(role, text) {
    const li = document.createElement("li");
    li.className = role;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Assistant";
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    log.append(li);
    li.scrollIntoView({block: "end"});
    return li;
  }

  function addNote(li, text) {
    const note = document.createElement("small");
    note.className = "note";
    note.textContent = text;
    li.append(note);
  }

  // retryAfter reads Retry-After, which may be seconds or an HTTP date.
  function retryAfter(resp) {
    const v = (resp.headers.get("Retry-After") || "").trim();
    if (/^\d+$/.test(v)) return parseInt(v, 10);
    const t = Date.parse(v);
    return isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
  }

  // failure turns a response that is not 2xx into the message the agent sees.
  async function failure(resp) {
    if (resp.status === 429) {
      const s = retryAfter(resp);
      return s === null
        ? "The assistant is busy, retry in a few seconds."
        : "The assistant is busy, retry in " + s + " s.";
    }
    if (resp.status === 401) {
      askForKey();
      return "This server needs an API key: enter it below, then send again.";
    }
    let message = "";
    try {
      const body = await resp.json();
      message = (body && body.error && body.error.message) || "";
    } catch (_) {
      // Not JSON (a proxy's page, say): the status says enough.
    }
    return "The request failed (" + resp.status + ")" + (message ? ": " + message : ".");
  }

  async function loadModel() {
    let resp;
    try {
      resp = await fetch("v1/models", {headers: headers(false)});
    } catch (_) {
      modelLine.textContent = "Model: server unreachable";
      return;
    }
    if (!resp.ok) {
      modelLine.textContent = "Model: unavailable (" + resp.status + ")";
      if (resp.status === 401) askForKey();
      return;
    }
    let list = [];
    try {
      const body = await resp.json();
      if (body && Array.isArray(body.data)) list = body.data;
    } catch (_) {
      // Handled below as no model.
    }
    const m = list.find((x) => x && x.nebras) || list[0];
    if (!m) {
      modelLine.textContent = "Model: none loaded";
      return;
    }
    const info = m.nebras || {};
    let text = "Model: " + String(m.id || "unnamed");
    if (info.version) text += " · version " + info.version;
    else if (info.source) text += " · " + info.source;
    if (info.run_id) text += " · run " + String(info.run_id).slice(0, 8);
    modelLine.textContent = text;
    modelLine.title = [
      info.source && "source: " + info.source,
      info.run_id && "run: " + info.run_id,
      info.loaded_at && "loaded: " + info.loaded_at,
    ].filter(Boolean).join("\n");
  }

  // readEvents calls onData with the data of each Server-Sent Event in body
  // until the body ends or onData returns false.
  async function readEvents(body, onData) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let data = [];
    const line = (l) => {
      if (l === "") {
        if (data.length === 0) return true;
        const d = data.join("\n");
        data = [];
        return onData(d) !== false;
      }
      if (l.startsWith("data:")) {
        const v = l.slice(5);
        data.push(v.startsWith(" ") ? v.slice(1) : v);
      }
      // Comments (":") and the event, id and retry fields carry nothing here.
      return true;
    };
    for (;;) {
      const {value, done} = await reader.read();
      buffer += decoder.decode(value, {stream: !done});
      for (;;) {
        const i = buffer.search(/[\r\n]/);
        if (i < 0) break;
        // A "\r" at the end may be the first half of "\r\n".
        if (buffer[i] === "\r" && i === buffer.length - 1 && !done) break;
        const end = buffer.startsWith("\r\n", i) ? i + 2 : i + 1;
        const l = buffer.slice(0, i);
        buffer = buffer.slice(end);
        if (!line(l)) {
          reader.cancel().catch(() => {});
          return;
        }
      }
      if (done) {
        if (line(buffer)) line("");
        return;
      }
    }
  }

  function setBusy(on) {
    sendButton.disabled = on;
    stopButton.hidden = !on;
  }

  async function ask(text) {
    clearError();
    const mine = conversation;
    history.push({role: "user", content: text});
    const userTurn = addTurn("user", text);
    const turn = addTurn("assistant", "");
    const out = turn.querySelector(".text");
    turn.setAttribute("aria-busy", "true");
    const controller = new AbortController();
    inflight = controller;
    setBusy(true);

    let reply = "";
    let finish = "";
    let ended = false;
    let problem = null;
    try {
      // No "model": the server serves one, and leaving it out keeps the
      // conversation going across a hot swap to a model with another id.
      // Greedy decoding, as nebras eval scored the model before the gate
      // let it into production; OpenAI's default would sample at 1.
      const request = {messages: history, stream: true, temperature: 0};
      const resp = await fetch("v1/chat/completions", {
        method: "POST",
        headers: headers(true),
        body: JSON.stringify(request),
        signal: controller.signal,
      });
      if (!resp.ok) throw new Error(await failure(resp));
      if (!resp.body) throw new Error("This browser cannot read streamed replies.");
      await readEvents(resp.body, (data) => {
        if (data === "[DONE]") {
          ended = true;
          return false;
        }
        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch (_) {
          throw new Error("The server sent an event that is not JSON.");
        }
        if (chunk && chunk.error) {
          throw new Error("The assistant failed: " + (chunk.error.message || "unknown error"));
        }
        const choice = chunk && Array.isArray(chunk.choices) ? chunk.choices[0] : null;
        if (!choice) return true;
        if (choice.delta && typeof choice.delta.content === "string" && choice.delta.content !== "") {
          reply += choice.delta.content;
          out.textContent = reply;
          turn.scrollIntoView({block: "end"});
        }
        if (choice.finish_reason) finish = choice.finish_reason;
        return true;
      });
      if (!ended) throw new Error("The connection closed before the reply was complete.");
    } catch (e) {
      problem = e;
    }

    if (inflight === controller) {
      inflight = null;
      setBusy(false);
    }
    turn.removeAttribute("aria-busy");
    if (mine !== conversation) return; // "New conversation" already cleared it

    const stopped = controller.signal.aborted;
    if (!problem || (stopped && reply !== "")) {
      // A stopped reply stays: it is what the agent saw, and the model
      // should see it too on the next turn. An empty reply is left out of
      // the history, as the API refuses empty messages.
      if (reply !== "") history.push({role: "assistant", content: reply});
      if (stopped) addNote(turn, "Stopped.");
      else if (finish === "length") addNote(turn, "The reply reached its length limit.");
      else if (reply === "") addNote(turn, "The assistant had nothing to say.");
      if (!stopped) loadModel(); // the server may have swapped models
      return;
    }
    // Nothing usable came back: withdraw the question and give the text
    // back so that the agent can send it again.
    history.pop();
    userTurn.remove();
    turn.remove();
    if (input.value.trim() === "") input.value = text;
    if (!stopped) showError(problem.message || String(problem));
    if (keyForm.hidden) input.focus(); // else the key field keeps the focus
  }

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    if (inflight) return;
    const text = input.value.trim();
    if (text === "") return;
    input.value = "";
    ask(text);
  });

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    } else if (e.key === "Escape" && inflight) {
      inflight.abort();
    }
  });

  stopButton.addEventListener("click", () => {
    if (inflight) inflight.abort();
    input.focus();
  });

  newButton.addEventListener("click", () => {
    conversation++;
    if (inflight) {
      inflight.abort();
      inflight = null;
      setBusy(false);
    }
    history = [];
    log.replaceChildren();
    clearError();
    input.value = "";
    input.focus();
  });

  keyForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const key = keyInput.value.trim();
    if (key === "") return;
    sessionStorage.setItem(KEY_STORAGE, key);
    keyInput.value = "";
    keyForm.hidden = true;
    clearError();
    loadModel();
    input.focus();
  });

  loadModel();
  input.focus();
})();
