"""nbgrader's submit and collect steps, closed to other students.

Submit (`ClosedSubmit`): a submission is readable by its author and the instructor only.
Collect (`OwnedCollect`): a submission is collected only if the account that owns it is the
student its name claims; a forged one is refused loudly and left in the inbound folder.

nbgrader's default exchange leaves a submission readable by everyone who knows its path
(the path ends in a random string, and the inbound folder cannot be listed). Here the
submission is readable by its author and the instructor only: the inbound folder is the
instructor's and carries the setgid bit, so what a student writes there belongs to the
instructor's group; the files are then made 0640 and the folders 2750. (A copy made by
shutil.copytree loses the setgid bit of its top folder, so the submission is copied into a
staging folder, then moved into a folder made fresh inside the inbound folder.)

Any student can write into the inbound folder, and a submission's name says whose it is
(`<student>+<assignment>+<timestamp>+<random>`): nbgrader's own collect only warns when the
owner differs from that name ("cheating attempt?") and collects it, so a student could
replace another's submission. Files a student writes are owned by the student's account,
which no student can change (only root can chown), so the owner is the proof of authorship.

`hub/classroom.py setup` installs this module into the shared environment and names it in
nbgrader's settings (c.ExchangeFactory.submit and .collect).
"""

import glob
import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect
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


class OwnedCollect(ExchangeCollect):
    def _owner(self, record: dict) -> str:
        try:
            return pwd.getpwuid(os.stat(os.path.join(self.inbound_path, record["filename"])).st_uid).pw_name
        except (KeyError, FileNotFoundError):
            return "an unknown account"

    def _sort_by_timestamp(self, records):
        """Each student's submissions, newest first, the ones that student owns before any forged one, so that
        the one chosen for collection is the student's own whenever there is one."""
        ordered = super()._sort_by_timestamp(records)
        return [r for r in ordered if self._owner(r) == r["username"]] + [r for r in ordered if self._owner(r) != r["username"]]

    def init_src(self):
        super().init_src()  # one submission per student, chosen as nbgrader does (newest, or newest before the due date)
        student = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student}+{self.coursedir.assignment_id}+*")
        for path in sorted(glob.glob(pattern)):
            record = self._path_to_record(path)
            if self._owner(record) != record["username"]:
                self.log.error(f"Refused: {record['filename']} claims to be submitted by {record['username']} but is owned "
                               f"by {self._owner(record)}; it is not collected and stays in {self.inbound_path} for the instructor")
        self.src_records = [r for r in self.src_records if self._owner(r) == r["username"]]
