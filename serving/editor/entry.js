// The one function the page needs from CodeMirror: an editor for Python with the standard setup
// (line numbers, bracket matching, auto-indent, undo, search), Tab to indent and Ctrl/Cmd+Enter
// to run. Esc then Tab moves focus out of the editor, so it is never a keyboard trap.
import { EditorView, basicSetup } from "codemirror";
import { indentWithTab } from "@codemirror/commands";
import { Prec } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { python } from "@codemirror/lang-python";

export function createEditor(parent, doc, label, onRun) {
  const run = { key: "Mod-Enter", run: () => { onRun(); return true; } };
  return new EditorView({
    doc,
    parent,
    extensions: [
      Prec.highest(keymap.of([run])),
      basicSetup,
      keymap.of([indentWithTab]),
      python(),
      EditorView.contentAttributes.of({ "aria-label": label }),
    ],
  });
}
