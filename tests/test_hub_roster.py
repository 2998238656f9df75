"""The class roster (hub/classroom.py): a bad roster raises a ValueError naming its line, and
setup then makes or changes nothing. No account is made here (the class itself: tests/hub)."""

import grp
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
import classroom  # noqa: E402

GOOD = "username,name\nada,Ada Lovelace\n\nalan,Alan Turing\n"


def roster(tmp_path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def test_a_good_roster_is_read_with_its_line_numbers(tmp_path):
    students = classroom.read_roster(roster(tmp_path, GOOD))
    assert [(s.username, s.name, s.line) for s in students] == [("ada", "Ada Lovelace", 2), ("alan", "Alan Turing", 4)]


@pytest.mark.parametrize("text, message", [
    ("", r"roster.csv: the roster is empty"),
    ("\n  \n", r"roster.csv: the roster is empty"),
    ("username,name\n", r"roster.csv: the roster has its header but no student"),
    ("user,full name\nada,Ada\n", r"roster.csv, line 1: the first line must be the header 'username,name'"),
    ("username,name\nada,Ada\nalan\n", r"roster.csv, line 3: expected 2 fields"),
    ("username,name\nAda,Ada\n", r"roster.csv, line 2: 'Ada' is not a valid username"),
    ("username,name\n1ada,Ada\n", r"line 2: '1ada' is not a valid username"),
    ("username,name\nada.l,Ada\n", r"line 2: 'ada.l' is not a valid username"),
    ("username,name\n" + "a" * 33 + ",Ada\n", r"line 2: 'a{33}' is not a valid username"),
    ("username,name\nada,Ada\nalan,Alan\nada,Ada again\n", r"roster.csv, line 4: 'ada' is already on line 2"),
    ("username,name\nada,\n", r"line 2: the name of 'ada' must be non-empty"),
    ("username,name\nada,Ada: the first\n", r"line 2: the name of 'ada' must be .* without ':'"),
])
def test_a_bad_roster_names_its_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        classroom.read_roster(roster(tmp_path, text))


def test_a_roster_saved_by_a_spreadsheet_is_read(tmp_path):
    """Excel's "CSV UTF-8": a byte-order mark and CRLF line ends."""
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    assert classroom.read_roster(path) == classroom.read_roster(roster(tmp_path, GOOD))


def test_a_roster_in_another_encoding_is_named_with_its_line(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("username,name\r\nada,Ada\r\nzoe,Zo\u00eb\r\n".encode("cp1252"))  # Excel's plain CSV
    with pytest.raises(ValueError, match=r"roster.csv, line 3: byte 0xeb at column 7 is not UTF-8; save the roster as 'CSV UTF-8'"):
        classroom.read_roster(path)


def test_a_missing_roster_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="nothere.csv: no such roster file"):
        classroom.read_roster(tmp_path / "nothere.csv")


def test_an_account_outside_the_course_is_refused(tmp_path):
    students = classroom.read_roster(roster(tmp_path, GOOD + "root,Not a student\n"))
    with pytest.raises(ValueError, match=r"line 5: the account 'root' already exists on this server and is not one of the course's"):
        classroom.check_class(students, "teacher", "prm-edu-test-group", "roster.csv")
    with pytest.raises(ValueError, match="--instructor: the account 'root' already exists"):
        classroom.check_class(students[:2], "root", "prm-edu-test-group")
    with pytest.raises(ValueError, match="line 2: 'ada' is the instructor's account"):
        classroom.check_class(students[:2], "ada", "prm-edu-test-group", "roster.csv")


def test_a_username_taken_by_a_group_is_refused(tmp_path):
    group = next(name for name in ("users", "staff", "adm")  # a group with no account of its name
                 if classroom._group_exists(name) and classroom.is_course_account(name, "x") is None)
    students = classroom.read_roster(roster(tmp_path, GOOD + f"{group},A group's name\n"))
    with pytest.raises(ValueError, match=f"line 5: a group named '{group}' already exists"):
        classroom.check_class(students, "teacher", "prm-edu-test-group", "roster.csv")
    with pytest.raises(ValueError, match="line 2: a group named 'ada' already exists"):  # the course's own group
        classroom.check_class(students, "teacher", "ada", "roster.csv")


def test_the_instructor_of_a_class_cannot_change_by_accident(tmp_path):
    settings = classroom.Settings(prefix=str(tmp_path / "opt"), state=str(tmp_path / "state"), group="zzprmnogroup",
                                  instructor="zzprmteacher")
    settings.save()
    settings.instructor = "zzprmsomeoneelse"
    with pytest.raises(ValueError, match="this class's instructor is 'zzprmteacher'"):
        classroom.setup(settings, roster(tmp_path, GOOD))
    assert not (tmp_path / "opt").exists()


@pytest.mark.parametrize("text", ["", GOOD + "root,Root\n", GOOD + "ada,twice\n"])
def test_setup_with_a_bad_roster_changes_nothing(tmp_path, text):
    settings = classroom.Settings(prefix=str(tmp_path / "opt"), state=str(tmp_path / "state"), exchange=str(tmp_path / "exchange"),
                                  homes=str(tmp_path / "home"), group="zzprmnogroup", instructor="zzprmnoteacher")
    with pytest.raises(ValueError, match="roster.csv"):
        classroom.setup(settings, roster(tmp_path, text))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roster.csv"]  # no folder, no environment, no state
    with pytest.raises(KeyError):
        grp.getgrnam("zzprmnogroup")
    assert classroom.is_course_account("ada", "zzprmnogroup") is None  # no account made
