"""The course's changes to nbgrader's steps (named in nbgrader_config.py beside this file).

**Autograde: sealed.** `SealedExecute` replaces nbgrader's execution step: the answer cells run in a
process of their own, as an unprivileged account, and the test cells in nbgrader's kernel, where the
answer's functions are stand-ins whose results come back as data (`sealed.py` says how and why).

**Feedback: which test failed and why, never the hidden tests' code.** nbgrader's feedback
is the autograded notebook as a page, and autograding puts the hidden tests back into
their cells: without this step a student would read them (and the inputs they use) in
the feedback, and could tune a resubmission to them. `HideHiddenTests` runs in `nbgrader
generate_feedback`: in every test cell it removes the hidden region, leaving a line that
says hidden tests ran there, and cuts an error's traceback, which quotes the failing line,
down to the error's message (the checks in `prm_edu.grading` say in words what is wrong,
without their inputs).

**Autograde: a locked cell's edit reported, without noise from the hidden tests.** nbgrader
puts back every locked cell whose checksum differs from the instructor's, and warns
"Attribute 'checksum' ... has changed!". A test cell with hidden tests always differs (the
students' version has them cut out), so every honest submission warned, and a real edit
was lost in the noise. `ReportEditedCells` warns only when the submitted cell differs from
what the students were given, naming the cell as edited; the cell is put back either way.
"""

import os

import sealed
from nbformat.v4 import new_code_cell
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Integer, Unicode

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests ran here; their code is not shown)"


def without_hidden_region(source: str) -> str:
    """The cell's source with each BEGIN/END HIDDEN TESTS region replaced by one placeholder line."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN:
            hidden = True
            kept.append(PLACEHOLDER)
        elif line.strip() == END:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and BEGIN in cell.source:
            cell.source = without_hidden_region(cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class ReportEditedCells(OverwriteCells):
    def preprocess_cell(self, cell, resources, cell_index):
        self._submitted_source = cell.source  # before nbgrader puts the instructor's cell back
        self._student = resources["nbgrader"].get("student", "?")
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            return super().report_change(name, attr, old, new)
        instructors = self.gradebook.find_source_cell(name, self.notebook_id, self.assignment_id)
        given = new_code_cell(instructors.source, metadata={"nbgrader": {"grade": True, "grade_id": name}})
        ClearHiddenTests(enforce_metadata=False).preprocess_cell(given, {}, 0)  # the cell as the students got it
        if given.source.strip() != self._submitted_source.strip():
            self.log.warning(f"{self._student}: cell {name} is locked but was edited in this submission; "
                             "the original was put back and graded")


class SealedExecute(Execute):
    """nbgrader's execution step, sealed (sealed.py): the answer cells and the students' own cells run in
    the answer's process, as the grading account; the instructor's locked cells and the test cells run
    here, in nbgrader's kernel, where each function the answer defines is a stand-in for it."""

    account = Unicode("nobody", help="the account the answers run as when grading as root; '': as yourself").tag(config=True)
    socket = Unicode("", help=f"a grading service's socket (default: ${sealed.SOCKET_ENV})").tag(config=True)
    cpu_seconds = Integer(sealed.CPU_SECONDS, help="CPU seconds for one submission's answer process").tag(config=True)

    def preprocess(self, nb, resources):
        if not (self.socket or os.environ.get(sealed.SOCKET_ENV)) and not (os.geteuid() == 0 and self.account):
            self.log.warning(f"{resources['nbgrader'].get('student', '?')}: the answers run as you, with your rights "
                             "(grade as root with SealedExecute.account, or through a class's grading service, to run "
                             "them as a grading account); the checks stay out of their reach either way")
        sources = [cell.source for cell in nb.cells]
        locked = [c.source for c in nb.cells if c.cell_type == "code" and not runs_in_answer(c) and not utils.is_grade(c)]
        for cell in nb.cells:
            if runs_in_answer(cell):
                cell.source = f"__sealed__.run({cell.source!r}, globals())"
        opening = new_code_cell(
            f"import sys as _sys; _sys.path.insert(0, {os.path.dirname(sealed.__file__)!r}); import sealed as _sealed\n"
            f"__sealed__ = _sealed.Answer.start(account={self.account!r}, socket_path={self.socket!r}, "
            f"imports={sealed.answer_imports(locked)!r}, cpu_seconds={self.cpu_seconds})")
        nb.cells = [opening, *nb.cells, new_code_cell("__sealed__.close()")]
        try:
            nb, resources = super().preprocess(nb, resources)
        finally:
            nb.cells = nb.cells[1:-1]
            for cell, source in zip(nb.cells, sources):
                cell.source = source
        failed = [o for o in opening.get("outputs", []) if o.get("output_type") == "error"]
        if failed:
            raise RuntimeError(f"the answer's process did not start: {failed[0].ename}: {failed[0].evalue}")
        return nb, resources


def runs_in_answer(cell) -> bool:
    """A code cell the student wrote: an answer cell, or any cell that is not the instructor's (locked)."""
    if cell.cell_type != "code":
        return False
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution")) or not (meta.get("locked") or meta.get("grade"))
