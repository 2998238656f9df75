"""nbgrader's submit step with the submission closed to other students.

nbgrader's default exchange leaves a submission readable by everyone who knows its path
(the path ends in a random string, and the inbound folder cannot be listed). Here the
submission is readable by its author and the instructor only: the inbound folder is the
instructor's and carries the setgid bit, so what a student writes there belongs to the
instructor's group; the files are then made 0640 and the folders 2750. (A copy made by
shutil.copytree loses the setgid bit of its top folder, so the submission is copied into a
staging folder, then moved into a folder made fresh inside the inbound folder.)

`hub/classroom.py setup` installs this module into the shared environment and names it in
nbgrader's settings (c.ExchangeFactory.submit).
"""

import os

from nbgrader.exchange.default.submit import ExchangeSubmit


class ClosedSubmit(ExchangeSubmit):
    def do_copy(self, src, dest, log=None):
        if os.path.dirname(os.path.abspath(dest)) != os.path.abspath(self.inbound_path):
            return super().do_copy(src, dest, log)  # the copy into the student's own cache
        staging = dest + ".copying"
        super().do_copy(src, staging, log)  # its files take the inbound folder's group (setgid)
        os.mkdir(dest)  # the instructor's group and the setgid bit, so timestamp.txt written next takes it too
        for name in os.listdir(staging):
            os.rename(os.path.join(staging, name), os.path.join(dest, name))
        os.rmdir(staging)

    def copy_files(self):
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, _dirs, files in os.walk(submission):
            os.chmod(folder, 0o2750)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o640)
