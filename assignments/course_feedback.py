"""What a student's feedback shows: which test failed and why, never the hidden tests' code.

nbgrader's feedback is the autograded notebook as a page, and autograding puts the hidden
tests back into their cells: without this step a student would read them (and the inputs
they use) in the feedback, and could tune a resubmission to them. `HideHiddenTests` runs
in `nbgrader generate_feedback` (nbgrader_config.py beside this file): in every test cell
it removes the hidden region, leaving a line that says hidden tests ran there, and cuts an
error's traceback, which quotes the failing line, down to the error's message (the checks
in `prm_edu.grading` say in words what is wrong, without their inputs).
"""

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

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
