"""make install honours DESTDIR and PREFIX, as a package build needs."""

from __future__ import annotations

from conftest import SRC, WHEELS

STAGE = "/var/tmp/stage"


def test_staged_install_with_prefix(system):
    system.run("rm", "-rf", STAGE)
    system.run("make", "-C", SRC, "--no-print-directory", "install", f"DESTDIR={STAGE}", "PREFIX=/usr/local",
               f"WHEELHOUSE={WHEELS}", timeout=600)
    files = set(system.sh(f"cd {STAGE} && find . -type f -o -type l").stdout.split())
    for expected in [
        "./usr/local/lib/systemd/system/codeanalysisd-db.service",
        "./usr/local/lib/systemd/system/codeanalysisd.target",
        "./usr/local/lib/systemd/user/codeanalysisd-watcher.service",
        "./usr/local/bin/codeanalysisctl",
        "./usr/local/lib/codeanalysisd/bin/codeanalysisd-db",
        "./usr/local/share/dbus-1/interfaces/org.codeanalysis1.xml",
        "./usr/local/share/doc/codeanalysisd/README.md",
        "./usr/local/share/man/man1/codeanalysisctl.1",
        "./usr/local/share/man/man5/codeanalysisd.conf.5",
        "./usr/local/share/man/man8/codeanalysisd.8",
        "./usr/local/share/man/man8/codeanalysisd-db.service.8",
        # the daemons that read these look only in /usr and /etc
        "./etc/dbus-1/system.d/org.codeanalysis1.conf",
        "./etc/polkit-1/rules.d/org.codeanalysis1.rules",
        "./etc/sysusers.d/codeanalysisd.conf",
        "./etc/tmpfiles.d/codeanalysisd.conf",
        "./etc/codeanalysisd/codeanalysisd.conf",
    ]:
        assert expected in files, expected
    unit = system.run("cat", f"{STAGE}/usr/local/lib/systemd/system/codeanalysisd-db.service").stdout
    assert "ExecStart=/usr/local/lib/codeanalysisd/bin/codeanalysisd-db --system" in unit
    user_unit = system.run("cat", f"{STAGE}/usr/local/lib/systemd/user/codeanalysisd-db.service").stdout
    assert "--user" in user_unit and "User=" not in user_unit and "PrivateUsers=yes" in user_unit
    # the environment holds what the suite runs on: not what only built the ONNX graph, not pip
    assert not [f for f in files if f.endswith(("/bin/pip", "/onnx/__init__.py", "/pip/__init__.py"))]
    assert "./usr/local/lib/codeanalysisd/share/codeanalysisd/all-MiniLM-L6-v2-int8.onnx" in files
    # the manual page names the program where it is installed
    page = system.run("cat", f"{STAGE}/usr/local/share/man/man8/codeanalysisd.8").stdout
    assert "/usr/local/lib/codeanalysisd/bin/codeanalysisd\\-db" in page
    # the staged venv names its final location, never the staging directory
    assert system.run("grep", "-rlF", STAGE, f"{STAGE}/usr/local/lib/codeanalysisd/bin",
                      f"{STAGE}/usr/local/lib/codeanalysisd/pyvenv.cfg", check=False).stdout == ""
    script = system.run("head", "-1", f"{STAGE}/usr/local/lib/codeanalysisd/bin/codeanalysisd-db").stdout
    assert script.strip() == "#!/usr/local/lib/codeanalysisd/bin/python3"
    assert system.run("readlink", f"{STAGE}/usr/local/bin/codeanalysisctl").stdout.strip() == \
        "/usr/local/lib/codeanalysisd/bin/codeanalysisctl"
    # nothing was activated on the running system by a staged install
    assert "/usr/local/lib/systemd/system" not in system.systemctl("show", "-p", "FragmentPath",
                                                                   "codeanalysisd-db.service").stdout
    system.run("rm", "-rf", STAGE)
