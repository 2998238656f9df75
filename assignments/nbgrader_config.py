"""nbgrader's settings for the prm-edu course (run nbgrader from this folder)."""

import os
import sys

from jupyter_core.paths import jupyter_runtime_dir

c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = "prm-edu"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.ExecutePreprocessor.timeout = 120  # seconds per cell: a submission that hangs gets zero for that test, not a stuck grader
# grading kernels talk over Unix sockets in the user's own runtime folder (0700), not over TCP ports; the path is
# absolute, since a kernel runs in its notebook's folder and the grader in this one
c.KernelManager.transport = "ipc"
os.makedirs(jupyter_runtime_dir(), mode=0o700, exist_ok=True)
c.KernelManager.ip = os.path.join(jupyter_runtime_dir(), "nbgrader-kernel")
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# the course's changes to nbgrader (course_nbgrader.py, beside this file): feedback without the hidden tests'
# code, and a warning for a locked cell only when the student edited it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from course_nbgrader import HideHiddenTests, ReportEditedCells, SealedExecute  # noqa: E402

c.Autograde.sanitize_preprocessors = ["nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
                                      "nbgrader.preprocessors.OverwriteKernelspec", ReportEditedCells,
                                      "nbgrader.preprocessors.CheckCellMetadata"]
c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades", HideHiddenTests,
                                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
# autograde, sealed (sealed.py): the answers run in a process of their own, as an unprivileged account, and the
# tests that decide the score in nbgrader's kernel, which never runs a student's code; the rest is nbgrader's own
c.Autograde.autograde_preprocessors = [SealedExecute, "nbgrader.preprocessors.IgnorePattern",
                                       "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
                                       "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
                                       "nbgrader.preprocessors.CheckCellMetadata"]
