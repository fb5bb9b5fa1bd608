"""The queries of bench/retrieval.py: a description in words, and the definition meant.

Two sets over the same corpus, with no target in common. TEST is held out: it was written
and committed before any ranking choice was made, and no choice is made by looking at it.
DEV is what ranking choices are measured on. A target is (file, qualified name); the file
is the path in the corpus project (stdlib modules at the top, the package under requests/).
"""

from __future__ import annotations

# The corpus: standard library modules (files, or packages copied whole) and one package
# from the index, pinned.
STDLIB_MODULES = (
    "difflib.py", "heapq.py", "bisect.py", "functools.py", "shlex.py", "calendar.py", "posixpath.py",
    "statistics.py", "random.py", "html", "filecmp.py", "ipaddress.py", "pprint.py", "fractions.py",
    "secrets.py", "fnmatch.py", "glob.py", "tarfile.py", "zipfile.py", "base64.py", "shutil.py", "tempfile.py",
    "textwrap.py", "string.py", "csv.py", "gzip.py", "json", "uuid.py", "datetime.py", "argparse.py",
    "configparser.py", "inspect.py", "pathlib.py", "copy.py", "dataclasses.py", "enum.py", "operator.py",
    "collections", "contextlib.py", "threading.py", "queue.py", "logging", "subprocess.py", "socket.py",
)
PACKAGE = "requests==2.32.3"

Target = tuple[str, str]  # (path in the project, qualified name)

TEST: dict[str, Target] = {
    # standard library
    "find the longest matching block of two sequences": ("difflib.py", "SequenceMatcher.find_longest_match"),
    "produce a unified diff between two lists of lines": ("difflib.py", "unified_diff"),
    "merge several sorted inputs into a single sorted output": ("heapq.py", "merge"),
    "return the n largest elements from a dataset": ("heapq.py", "nlargest"),
    "insert an item into a sorted list keeping it sorted": ("bisect.py", "insort_right"),
    "cache the results of a function with a least recently used policy": ("functools.py", "lru_cache"),
    "split a string into tokens using shell-like syntax": ("shlex.py", "split"),
    "quote a string so it can be used safely as a shell argument": ("shlex.py", "quote"),
    "check whether a year is a leap year": ("calendar.py", "isleap"),
    "day of the week for a given date": ("calendar.py", "weekday"),
    "normalize a path by collapsing redundant separators and up-level references": ("posixpath.py", "normpath"),
    "compute the relative path from one directory to another": ("posixpath.py", "relpath"),
    "arithmetic mean of a list of numbers": ("statistics.py", "mean"),
    "middle value of sorted data": ("statistics.py", "median"),
    "choose k unique random elements from a population": ("random.py", "Random.sample"),
    "shuffle a list in place": ("random.py", "Random.shuffle"),
    "escape special characters so a string is safe to put inside HTML": ("html/__init__.py", "escape"),
    "convert named and numeric character references to the corresponding unicode characters":
        ("html/__init__.py", "unescape"),
    "compare two files to see if they are the same": ("filecmp.py", "cmp"),
    "summarize a range of IP addresses as a list of networks": ("ipaddress.py", "summarize_address_range"),
    "create an IPv4 or IPv6 address object from a string or integer": ("ipaddress.py", "ip_address"),
    "pretty print a data structure": ("pprint.py", "pprint"),
    "approximate a fraction with a bounded denominator": ("fractions.py", "Fraction.limit_denominator"),
    "generate a random URL-safe text token": ("secrets.py", "token_urlsafe"),
    "match a file name against a shell-style wildcard pattern, case-sensitive": ("fnmatch.py", "fnmatchcase"),
    "iterate over the paths matching a pattern without building a list": ("glob.py", "iglob"),
    "extract all members of a tar archive to a directory": ("tarfile.py", "TarFile.extractall"),
    "write a file into a zip archive": ("zipfile.py", "ZipFile.write"),
    "decode a string encoded with base32": ("base64.py", "b32decode"),
    # requests 2.32.3
    "determine the length of a file-like object or string body": ("requests/utils.py", "super_len"),
    "read login credentials for a host from the user's netrc file": ("requests/utils.py", "get_netrc_auth"),
    "parse a comma-separated header with key=value pairs into a dictionary":
        ("requests/utils.py", "parse_dict_header"),
    "get the character encoding from the Content-Type header": ("requests/utils.py", "get_encoding_from_headers"),
    "split a string into chunks of a fixed size": ("requests/utils.py", "iter_slices"),
    "check whether an IP address belongs to a subnet": ("requests/utils.py", "address_in_network"),
    "convert a netmask length into a dotted decimal mask": ("requests/utils.py", "dotted_netmask"),
    "decide whether a URL should be fetched without going through a proxy":
        ("requests/utils.py", "should_bypass_proxies"),
    "build the default user agent string": ("requests/utils.py", "default_user_agent"),
    "parse the Link header into a list of dictionaries": ("requests/utils.py", "parse_header_links"),
    "extract the username and password embedded in a URL": ("requests/utils.py", "get_auth_from_url"),
    "raise an exception if the response status indicates an error": ("requests/models.py", "Response.raise_for_status"),
    "iterate over the response body one line at a time": ("requests/models.py", "Response.iter_lines"),
    "decode the response body as JSON": ("requests/models.py", "Response.json"),
    "compute the digest authentication header for a request":
        ("requests/auth.py", "HTTPDigestAuth.build_digest_header"),
    "follow the redirects of a response and yield each subsequent response":
        ("requests/sessions.py", "SessionRedirectMixin.resolve_redirects"),
    "send an HTTP DELETE request": ("requests/api.py", "delete"),
    "register a transport adapter for a URL prefix": ("requests/sessions.py", "Session.mount"),
    "convert a cookie jar into a plain dictionary": ("requests/utils.py", "dict_from_cookiejar"),
    "move the file position back to the start so the body can be sent again after a redirect":
        ("requests/utils.py", "rewind_body"),
    "add a scheme to a URL that lacks one": ("requests/utils.py", "prepend_scheme_if_needed"),
    "remove the fragment and the authentication part from a URL": ("requests/utils.py", "urldefragauth"),
}

DEV: dict[str, Target] = {
    # standard library
    "how similar two sequences are, as a number between 0 and 1": ("difflib.py", "SequenceMatcher.ratio"),
    "return the n smallest elements": ("heapq.py", "nsmallest"),
    "find the insertion point for an item to keep a list sorted": ("bisect.py", "bisect_right"),
    "make a wrapper function look like the function it wraps": ("functools.py", "update_wrapper"),
    "join a list of arguments into a shell-escaped command line": ("shlex.py", "join"),
    "print the calendar of one month": ("calendar.py", "TextCalendar.prmonth"),
    "split a path into the directory and the last component": ("posixpath.py", "split"),
    "sample standard deviation": ("statistics.py", "stdev"),
    "pick a random element from a non-empty sequence": ("random.py", "Random.choice"),
    "the most common value in the data": ("statistics.py", "mode"),
    "a temporary file that is deleted when it is closed": ("tempfile.py", "NamedTemporaryFile"),
    "list the names of the members of a zip archive": ("zipfile.py", "ZipFile.namelist"),
    "encode bytes with base85": ("base64.py", "b85encode"),
    "turn a shell wildcard pattern into a regular expression": ("fnmatch.py", "translate"),
    "expand a tilde to the user's home directory in a path": ("posixpath.py", "expanduser"),
    "copy a file's permission bits to another file": ("shutil.py", "copymode"),
    "read a date from a string in ISO 8601 format": ("datetime.py", "date.fromisoformat"),
    "serialize an object to a JSON formatted string": ("json/__init__.py", "dumps"),
    "describe how to turn one sequence into another as a list of edit operations":
        ("difflib.py", "SequenceMatcher.get_opcodes"),
    "find the words in a list that are close matches to a given word": ("difflib.py", "get_close_matches"),
    "push an item on a heap, then pop and return the smallest item": ("heapq.py", "heappushpop"),
    "transform a list into a heap in place, in linear time": ("heapq.py", "heapify"),
    "convert an old-style comparison function into a key function": ("functools.py", "cmp_to_key"),
    "apply a function of two arguments cumulatively to the items of an iterable": ("functools.py", "reduce"),
    "weekday of the first day and the number of days of a month": ("calendar.py", "monthrange"),
    "count the leap years between two years": ("calendar.py", "leapdays"),
    "the longest common sub-path of a list of paths": ("posixpath.py", "commonpath"),
    "separate the extension from a file name": ("posixpath.py", "splitext"),
    "substitute environment variables in a path": ("posixpath.py", "expandvars"),
    "sample variance of data": ("statistics.py", "variance"),
    "geometric mean of positive numbers": ("statistics.py", "geometric_mean"),
    "random number from a normal distribution with a given mean and standard deviation": ("random.py", "Random.gauss"),
    "random integer in a range including both end points": ("random.py", "Random.randint"),
    "compare the files with the given names in two directories": ("filecmp.py", "cmpfiles"),
    "merge adjacent and overlapping IP networks into as few as possible": ("ipaddress.py", "collapse_addresses"),
    "format a data structure as a readable string instead of printing it": ("pprint.py", "pformat"),
    "random text in hexadecimal suitable for security tokens": ("secrets.py", "token_hex"),
    "keep only the names of a list that match a wildcard pattern": ("fnmatch.py", "filter"),
    "escape the special characters of a path so a pattern matches it literally": ("glob.py", "escape"),
    "open a tar archive for reading or writing with transparent compression": ("tarfile.py", "TarFile.open"),
    "tell whether a file is a zip archive by its magic number": ("zipfile.py", "is_zipfile"),
    "encode bytes with base64 using the URL and filesystem safe alphabet": ("base64.py", "urlsafe_b64encode"),
    "find the path of an executable command on the search path": ("shutil.py", "which"),
    "create a temporary directory securely and return its name": ("tempfile.py", "mkdtemp"),
    "capitalize each word of a string": ("string.py", "capwords"),
    "guess the dialect of a CSV file from a sample of it": ("csv.py", "Sniffer.sniff"),
    "deserialize a JSON document from a string into Python objects": ("json/__init__.py", "loads"),
    "generate a random UUID": ("uuid.py", "uuid4"),
    "convert the command line strings into a namespace of attributes": ("argparse.py", "ArgumentParser.parse_args"),
    "read and parse a list of configuration files, skipping those that cannot be opened":
        ("configparser.py", "RawConfigParser.read"),
    "get the text of the source code of a function or class": ("inspect.py", "getsource"),
    "recursively duplicate an object and everything it contains": ("copy.py", "deepcopy"),
    "convert a dataclass instance into a dict of its fields": ("dataclasses.py", "asdict"),
    "create a new dataclass from a class name and a list of fields": ("dataclasses.py", "make_dataclass"),
    "turn a generator function into a context manager for a with statement": ("contextlib.py", "contextmanager"),
    "wait until the thread terminates": ("threading.py", "Thread.join"),
    "put an item into the queue without blocking": ("queue.py", "Queue.put_nowait"),
    "configure the root logger with a handler and a format in one call": ("logging/__init__.py", "basicConfig"),
    "run a command and return what it printed to standard output": ("subprocess.py", "check_output"),
    "connect to a TCP service at an address and return the socket": ("socket.py", "create_connection"),
    "the n elements counted most often, with their counts": ("collections/__init__.py", "Counter.most_common"),
    "factory for tuple subclasses whose fields have names": ("collections/__init__.py", "namedtuple"),
    "read the contents of the file at a path as a string": ("pathlib.py", "Path.read_text"),
    "parse a string into a datetime according to a format": ("datetime.py", "datetime.strptime"),
    # requests 2.32.3
    "send a GET request": ("requests/api.py", "get"),
    "turn a dictionary or a list of pairs into a list of key value tuples": ("requests/utils.py", "to_key_val_list"),
    "guess the file name of a file object": ("requests/utils.py", "guess_filename"),
    "choose the proxy to use for a URL": ("requests/utils.py", "select_proxy"),
    "quote a URI again so that it is fully and consistently quoted": ("requests/utils.py", "requote_uri"),
    "encode files as multipart form data for the request body":
        ("requests/models.py", "RequestEncodingMixin._encode_files"),
    "close the session and all its adapters": ("requests/sessions.py", "Session.close"),
    "check that a string is a valid IPv4 address": ("requests/utils.py", "is_ipv4_address"),
    "send a POST request": ("requests/api.py", "post"),
    "add the cookies of a dictionary to an existing cookie jar": ("requests/utils.py", "add_dict_to_cookiejar"),
    "iterate over the response data in chunks of a given size": ("requests/models.py", "Response.iter_content"),
    "check the TLS certificate settings and apply them to a connection":
        ("requests/adapters.py", "HTTPAdapter.cert_verify"),
    "build a response object from the low-level urllib3 response":
        ("requests/adapters.py", "HTTPAdapter.build_response"),
    "merge the proxies and certificate settings of the environment with those of the request":
        ("requests/sessions.py", "Session.merge_environment_settings"),
    "the value of the Authorization header for basic authentication": ("requests/auth.py", "_basic_auth_str"),
    "undo the percent-escapes of unreserved characters in a URI": ("requests/utils.py", "unquote_unreserved"),
    "decide whether the authorization header must be removed when redirecting":
        ("requests/sessions.py", "SessionRedirectMixin.should_strip_auth"),
    "decode a stream of byte chunks into text incrementally": ("requests/utils.py", "stream_decode_response_unicode"),
    "check that a string is a network in CIDR notation": ("requests/utils.py", "is_valid_cidr"),
    "the proxies configured in the environment for a URL": ("requests/utils.py", "get_environ_proxies"),
    "remove a cookie from a jar by its name, domain and path": ("requests/cookies.py", "remove_cookie_by_name"),
    "make a cookie from a name and a value with sensible defaults": ("requests/cookies.py", "create_cookie"),
    "take the cookies a response sets and store them in a jar": ("requests/cookies.py", "extract_cookies_to_jar"),
    "the connection pool manager for a given proxy": ("requests/adapters.py", "HTTPAdapter.proxy_manager_for"),
    "encode the parameters of a request into the URL's query string":
        ("requests/models.py", "RequestEncodingMixin._encode_params"),
    "a dictionary whose keys are looked up regardless of their case": ("requests/structures.py", "CaseInsensitiveDict"),
}
