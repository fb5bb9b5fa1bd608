"""The structure methods as the Manager answers them over a real store: rows and their fields,
the caller's view, a reply cut at its limit, answers that follow a saved file at once, and
arguments refused with a reason."""

import asyncio
import pathlib
import shutil
import tempfile
import textwrap
import types

import pytest

from codeanalysisd.access import Caller
from codeanalysisd.bus import errors
from codeanalysisd.config import Config
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.manager import Manager
from codeanalysisd.paths import roots_overlap
from codeanalysisd.tree import Tree

ROOT = Caller(0, frozenset({0}))
NOBODY = Caller(65534, frozenset({65534}))

FILES = {
    "shop/__init__.py": "from .cart import Cart\n",
    "shop/cart.py": """\
        from .items import Item as I


        class Cart:
            '''A cart.'''

            def add(self, item: I) -> None:
                self.check(item)

            def check(self, item):
                item.price()

            class Line:
                def total(self):
                    pass


        def make() -> Cart:
            return Cart()
        """,
    "shop/items.py": "class Item:\n    def price(self):\n        pass\n\n\nclass Book(Item):\n    pass\n",
    "app.py": "import shop\nfrom shop import cart\n\n\ndef main():\n    c = shop.Cart()\n    c.add(None)\n"
              "    cart.make().add(None)\n",
    "private.py": "from shop.cart import Cart\nCart().add(None)\n",
}


class AsIf:
    def __init__(self) -> None:
        self.caller = ROOT

    async def current(self) -> Caller:
        return self.caller


@pytest.fixture
def owner(tmp_path):
    tree = pathlib.Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp: searchable by every user
    tree.chmod(0o755)
    root = tree / "shopping"
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(text))
    for directory in (root, root / "shop"):
        directory.chmod(0o755)
    for path in FILES:
        (root / path).chmod(0o600 if path == "private.py" else 0o644)
    store, _ = Store.open(str(tmp_path / "index.sqlite3"), str(tmp_path / "history.sqlite3"))
    project = store.writes.projects.add(str(root), roots_overlap).id

    def index(*paths):
        store.writes.files.index(project, [file_update(read_file(Tree(str(root)), p), 1 << 20)[0] for p in paths])

    index(*FILES)
    core = OwnerCore(store, types.SimpleNamespace(bus=None), Config())  # type: ignore[arg-type]
    core.callers = AsIf()  # type: ignore[assignment]
    loop = asyncio.new_event_loop()
    manager = Manager(core)

    def ask(name, *args, caller=ROOT):
        core.callers.caller = caller  # type: ignore[union-attr]
        handler = vars(Manager)[name].__dict__["__DBUS_METHOD"].fn
        return loop.run_until_complete(handler(manager, *args))

    yield types.SimpleNamespace(ask=ask, project=project, root=root, index=index, store=store)
    loop.close()
    store.close()
    shutil.rmtree(tree)


def test_outline_nests_definitions_with_their_signatures(owner):
    assert owner.ask("Outline", owner.project, "shop/cart.py") == [
        ("Cart", "class", 4, 15, 0, ""),
        ("Cart.add", "method", 7, 8, 1, "(self, item: I) -> None"),
        ("Cart.check", "method", 10, 11, 1, "(self, item)"),
        ("Cart.Line", "class", 13, 15, 1, ""),
        ("Cart.Line.total", "method", 14, 15, 2, "(self)"),
        ("make", "function", 18, 19, 0, "() -> Cart"),
    ]
    assert owner.ask("Outline", owner.project, str(owner.root / "shop/items.py"))[1] == (
        "Item.price", "method", 2, 3, 1, "(self)")
    with pytest.raises(errors.NotFound):
        owner.ask("Outline", owner.project, "shop/none.py")
    with pytest.raises(errors.NotFound):  # a file the caller cannot read is no file of theirs
        owner.ask("Outline", owner.project, "private.py", caller=NOBODY)


def test_imports_and_chains(owner):
    assert owner.ask("Imports", owner.project, "shop.cart", "out", 1) == [
        ("shop.cart", "shop.items", "shop/cart.py", 1)]
    assert owner.ask("Imports", owner.project, "shop/cart.py", "in", 1) == [
        ("app", "shop.cart", "app.py", 2), ("private", "shop.cart", "private.py", 1),
        ("shop", "shop.cart", "shop/__init__.py", 1)]
    assert owner.ask("Imports", owner.project, "shop.cart", "in", 1, caller=NOBODY) == [
        ("app", "shop.cart", "app.py", 2), ("shop", "shop.cart", "shop/__init__.py", 1)]
    assert owner.ask("ImportChain", owner.project, "app", "shop.items") == ["app", "shop.cart", "shop.items"]
    assert owner.ask("ImportChain", owner.project, "shop.items", "app") == []
    with pytest.raises(errors.NotFound, match=r"no module 'nothing\.here'"):
        owner.ask("Imports", owner.project, "nothing.here", "out", 1)
    with pytest.raises(errors.InvalidArgument, match="direction must be out or in"):
        owner.ask("Imports", owner.project, "app", "sideways", 1)


def test_class_hierarchy_both_ways(owner):
    book, item = ("shop.items.Book", "shop.items", "shop/items.py"), ("shop.items.Item", "shop.items", "shop/items.py")
    assert owner.ask("ClassHierarchy", owner.project, "Book", "up") == [(*book, 6, 0), (*item, 1, 1)]
    assert owner.ask("ClassHierarchy", owner.project, "shop.items.Item", "down") == [(*item, 1, 0), (*book, 6, 1)]
    with pytest.raises(errors.NotFound):
        owner.ask("ClassHierarchy", owner.project, "Nothing", "up")


def test_call_graph_callers_and_callees(owner):
    assert owner.ask("CallGraph", owner.project, "shop.cart.Cart.add", "callers", 1) == [
        ("app.main", "shop.cart.Cart.add", "app.py", "main", 7, "resolved"),
        ("app.main", "shop.cart.Cart.add", "app.py", "main", 8, "resolved"),
        ("private", "shop.cart.Cart.add", "private.py", "", 2, "resolved")]
    assert owner.ask("CallGraph", owner.project, "shop.cart.Cart.add", "callees", 0) == [
        ("shop.cart.Cart.add", "shop.cart.Cart.check", "shop/cart.py", "Cart.add", 8, "resolved"),
        ("shop.cart.Cart.check", "item.price", "shop/cart.py", "Cart.check", 11, "name")]
    rows = owner.ask("CallGraph", owner.project, "shop.cart.Cart.add", "both", 1, caller=NOBODY)
    assert [r[0] for r in rows] == ["app.main", "app.main", "shop.cart.Cart.add"]


def test_find_usages_labels_rows_and_says_when_it_stops_at_its_limit(owner):
    rows = owner.ask("FindUsages", "shop.cart.Cart", owner.project, 0)
    assert [(r[1], r[5], r[4], r[3], r[7]) for r in rows] == [
        ("app.py", 6, "shop.Cart", "call", "resolved"), ("private.py", 1, "Cart", "import", "resolved"),
        ("private.py", 2, "Cart", "call", "resolved"), ("shop/__init__.py", 1, "Cart", "import", "resolved"),
        ("shop/cart.py", 18, "Cart", "name", "resolved"), ("shop/cart.py", 19, "Cart", "call", "resolved")]
    cut = owner.ask("FindUsages", "shop.cart.Cart", owner.project, 2)
    assert len(cut) == 3 and cut[-1][0] == "" and cut[-1][7] == "more" and cut[-1][5] == 4
    assert "4 more uses not shown" in cut[-1][4]
    assert [r[1] for r in owner.ask("FindUsages", "shop.cart.Cart", "", 0, caller=NOBODY)] == [
        "app.py", "shop/__init__.py", "shop/cart.py", "shop/cart.py"]
    assert owner.ask("FindUsages", "shop.items.Item.price", owner.project, 0) == [
        (owner.project, "shop/cart.py", "Cart.check", "call", "item.price", 11, 13, "name")]
    with pytest.raises(errors.InvalidArgument, match="not a dotted name"):
        owner.ask("FindUsages", "os.path.join()", "", 0)


def test_answers_follow_a_saved_file_at_once(owner):
    assert owner.ask("ClassHierarchy", owner.project, "Book", "up")[-1][0] == "shop.items.Item"
    (owner.root / "shop/items.py").write_text("class Item:\n    pass\n\n\nclass Base:\n    pass\n\n\n"
                                             "class Book(Base):\n    pass\n")
    owner.index("shop/items.py")
    assert owner.ask("ClassHierarchy", owner.project, "Book", "up")[-1][:2] == ("shop.items.Base", "shop.items")
    assert owner.ask("FindUsages", "shop.items.Item.price", owner.project, 0) == [
        (owner.project, "shop/cart.py", "Cart.check", "call", "item.price", 11, 13, "name")]
    (owner.root / "shop/cart.py").unlink()
    owner.store.writes.files.mark_deleted(owner.project, ["shop/cart.py"])
    assert owner.ask("Imports", owner.project, "app", "out", 1) == [("app", "shop", "app.py", 1),
                                                                     ("app", "shop", "app.py", 2)]
