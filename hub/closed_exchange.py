"""nbgrader's submit step with the submission closed to other students.

nbgrader's default exchange leaves a submission readable by everyone who knows its path
(the path ends in a random string, and the inbound folder cannot be listed). Here the
submission is readable by its author and the instructor only: the inbound folder is the
instructor's and carries the setgid bit, so what a student writes there belongs to the
instructor's group; the files are then made 0640 and the folders 2750.

`hub/classroom.py setup` installs this module into the shared environment and names it in
nbgrader's settings (c.ExchangeFactory.submit).
"""

import os

from nbgrader.exchange.default.submit import ExchangeSubmit


class ClosedSubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, _dirs, files in os.walk(submission):
            os.chmod(folder, 0o2750)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o640)
