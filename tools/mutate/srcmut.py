#!/usr/bin/env python3
"""Source-level mutation operators for C files (the ones Mull cannot express).

Mull mutates LLVM IR, where these operators have no handle:
  mo_weaken     memory_order_{acquire,release,acq_rel,seq_cst,consume} -> relaxed:
                an atomic's ordering is an attribute of the IR instruction, and
                Mull has no mutator for it.
  fence_remove  atomic_thread_fence / atomic_signal_fence removed: a fence is an
                IR `fence` instruction, not a call, so cxx_remove_void_call never
                sees it.
  store_remove  an atomic store (atomic_store_explicit, a `store atomic` in IR) or
                a plain store through a pointer, field, array or global removed:
                Mull only replaces stored values (cxx_assign_const), it never
                drops a store.
  call_remove   a call statement removed, including `(void)f(...)` whose result
                is discarded (unlock, munmap, shm_unlink, repair, ...): Mull's
                cxx_remove_void_call only takes calls to functions declared
                void, and in C it finds none once inlining or a cast is
                involved. (The driver drops our call_remove where Mull already
                has a remove_void_call at the same line.)
  arg_swap      two adjacent arguments of a call swapped: no Mull mutator.
  negation      a unary `!` removed: Mull's cxx_remove_negation finds only the
                few that survive as an IR `xor`; `if (!ok)` becomes a swapped
                branch it cannot see. (The driver drops ours where Mull has one.)
  const_change  an integer literal off by one (0 -> 1, any other v -> v - 1),
                also in `#define NAME <integer>`: Mull's scalar_value_mutator
                would do constants, but with LLVM 16 it corrupts modules (it
                rewrites struct field indices of GEPs: "Invalid indices for GEP
                pointer type"), so it is off.
  ret_swap      `return true` <-> `return false`, a status constant returned
                swapped (DLLMEM_OK <-> DLLMEM_OS_ERROR, any other -> DLLMEM_OK),
                and the two branches of `return c ? a : b;` swapped: Mull's
                scalar mutators replace literals with 0/42, never with the other
                legal value.

Each mutant replaces one byte range [start, end) of the file with new text.
Tokens inside preprocessor lines, comments and strings are never touched.

Usage:
  srcmut.py list FILE...           JSON lines, one per mutant
  srcmut.py apply FILE START END TEXT   prints the mutated file
"""
import json
import re
import sys

KEYWORDS = {
    "if", "else", "for", "while", "do", "switch", "case", "default", "return", "goto",
    "break", "continue", "sizeof", "typedef", "struct", "union", "enum", "static", "const",
    "volatile", "extern", "register", "inline", "unsigned", "signed", "int", "char", "short",
    "long", "float", "double", "void", "_Bool", "bool", "_Static_assert", "_Atomic",
    "_Thread_local", "_Alignof", "_Alignas", "__attribute__", "asm", "__asm__",
}
# Calls never removed or argument-swapped: formatting (swaps do not compile
# under -Wformat, removal only loses a message), varargs plumbing (removal is
# undefined behaviour, not a defect), and atomics (their arguments are an
# object, a value and orders: a swap does not compile; mo_weaken and
# store_remove cover them).
NO_SWAP_PREFIXES = ("atomic_", "__atomic_", "va_", "_mm_", "__builtin_")
NO_SWAP = {"dllmem_reason_set", "snprintf", "vsnprintf", "printf", "fprintf", "sizeof",
           "_Static_assert", "strerror_r", "error_text"}
NO_REMOVE = {"va_start", "va_end", "va_copy", "_Static_assert"}
# Commutative intrinsics: swapping their arguments changes nothing.
COMMUTATIVE = re.compile(r"^_mm_(cmpeq|or|and|xor|add|min|max)_")
STRONG_ORDERS = {"memory_order_acquire", "memory_order_release", "memory_order_acq_rel",
                 "memory_order_seq_cst", "memory_order_consume"}
STATUS = re.compile(r"^DLLMEM_[A-Z_]+$")
INTEGER = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)([uUlL]*)$")


def off_by_one(text):
    """The literal's off-by-one replacement, or None if it is not an integer."""
    m = INTEGER.match(text)
    if not m:
        return None
    digits, suffix = m.groups()
    octal = len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX"
    v = int(digits, 8) if octal else int(digits, 0)
    w = 1 if v == 0 else v - 1
    if digits[:2] in ("0x", "0X"):
        return f"0x{w:x}{suffix}" if digits[:2] == "0x" else f"0X{w:X}{suffix}"
    if octal:
        return f"0{w:o}{suffix}"
    return f"{w}{suffix}"

TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+|\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[\w.])*)
  | (?P<punct>\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|\#\#|[^\s])
""", re.S | re.X)


class Tok:
    __slots__ = ("kind", "text", "start", "end", "line", "pp")

    def __init__(self, kind, text, start, end, line, pp):
        self.kind, self.text, self.start, self.end, self.line, self.pp = kind, text, start, end, line, pp

    def __repr__(self):
        return f"{self.text}@{self.line}"


def tokenize(src):
    """Significant tokens; pp=True for tokens on preprocessor lines."""
    toks, pos, line, in_pp, at_line_start = [], 0, 1, False, True
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if m is None:
            raise ValueError(f"cannot tokenize at line {line}")
        kind, text = m.lastgroup, m.group()
        if kind == "ws":
            if text == "\n":
                # A backslash-newline continues a preprocessor line.
                if not (in_pp and src[pos - 1:pos] == "\\"):
                    in_pp = False
                at_line_start = text == "\n" or at_line_start
        elif kind == "comment":
            pass
        else:
            if at_line_start and text == "#":
                in_pp = True
            if kind == "punct" and text == "\\":
                pass
            else:
                toks.append(Tok(kind, text, m.start(), m.end(), line, in_pp))
            at_line_start = False
        if text == "\n":
            at_line_start = True
        line += text.count("\n")
        pos = m.end()
    return toks


def matching(toks, i):
    """Index of the bracket closing toks[i], or None."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    open_, close = toks[i].text, pairs[toks[i].text]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == open_:
            depth += 1
        elif toks[j].text == close:
            depth -= 1
            if depth == 0:
                return j
    return None


def functions(toks):
    """[(name, first_line, last_line)] of the function bodies at file scope."""
    out, i = [], 0
    while i < len(toks):
        t = toks[i]
        if t.text == "{" and not t.pp and i > 0 and toks[i - 1].text == ")":
            j = matching(toks, i)
            # Walk back over the parameter list to the name.
            k, depth = i - 1, 0
            while k >= 0:
                if toks[k].text == ")":
                    depth += 1
                elif toks[k].text == "(":
                    depth -= 1
                    if depth == 0:
                        break
                k -= 1
            name = toks[k - 1].text if k > 0 and toks[k - 1].kind == "ident" else "?"
            out.append((name, toks[i].line, toks[j].line if j else toks[-1].line))
            i = (j or i) + 1
            continue
        i += 1
    return out


def function_at(funcs, line):
    for name, a, b in funcs:
        if a <= line <= b:
            return name
    return "<file scope>"


def statement_start(toks, i):
    """True if toks[i] starts a statement inside a function body."""
    if toks[i].pp or i == 0:
        return False
    p = toks[i - 1]
    if p.pp:
        # After a preprocessor line: look at the last code token before it.
        k = i - 1
        while k >= 0 and toks[k].pp:
            k -= 1
        if k < 0:
            return False
        p = toks[k]
    if p.text in (";", "{", "}", "else"):
        return True
    if p.text == ")":
        # The closing parenthesis of an if/while/for header.
        depth, k = 0, i - 1
        while k >= 0:
            if toks[k].text == ")":
                depth += 1
            elif toks[k].text == "(":
                depth -= 1
                if depth == 0:
                    return k > 0 and toks[k - 1].text in ("if", "while", "for")
            k -= 1
    return False


def statement_end(toks, i):
    """Index of the ';' ending the expression statement at i (depth 0), or None."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j].text
        if t in ("(", "[", "{"):
            depth += 1
        elif t in (")", "]", "}"):
            depth -= 1
            if depth < 0:
                return None
        elif t == ";" and depth == 0:
            return j
    return None


def call_at(toks, i):
    """(name_index, open_paren, close_paren) of a call statement `f(...);` or
    `(void)f(...);` starting at i, or None."""
    j = i
    if toks[j].text == "(" and j + 3 < len(toks) and toks[j + 1].text == "void" and toks[j + 2].text == ")":
        j += 3
    if toks[j].kind != "ident" or toks[j].text in KEYWORDS or j + 1 >= len(toks) or toks[j + 1].text != "(":
        return None
    close = matching(toks, j + 1)
    if close is None or close + 1 >= len(toks) or toks[close + 1].text != ";":
        return None
    return j, j + 1, close


def store_at(toks, i):
    """Index of the '=' of a store statement `lvalue = expr;` starting at i, where the
    lvalue goes through a pointer, field, array or global; else None."""
    j, indirect = i, False
    if toks[j].text == "*":
        j, indirect = j + 1, True
    if toks[j].kind != "ident" or toks[j].text in KEYWORDS:
        return None
    indirect = indirect or toks[j].text.startswith(("g_", "t_"))
    j += 1
    while j < len(toks):
        t = toks[j].text
        if t in ("->", ".") and j + 1 < len(toks) and toks[j + 1].kind == "ident":
            j, indirect = j + 2, True
        elif t == "[":
            k = matching(toks, j)
            if k is None:
                return None
            j, indirect = k + 1, True
        else:
            break
    if j < len(toks) and toks[j].text == "=" and indirect:
        return j
    return None


def split_args(toks, open_, close):
    """[(first, last)] token index ranges of the arguments of a call."""
    args, depth, first = [], 0, open_ + 1
    for j in range(open_ + 1, close):
        t = toks[j].text
        if t in ("(", "[", "{"):
            depth += 1
        elif t in (")", "]", "}"):
            depth -= 1
        elif t == "," and depth == 0:
            args.append((first, j - 1))
            first = j + 1
    if first <= close - 1:
        args.append((first, close - 1))
    return args


def ternary_split(toks, a, b):
    """(q, c) indices of the top-level '?' and its ':' within toks[a..b], or None."""
    depth, q, nested = 0, None, 0
    for j in range(a, b + 1):
        t = toks[j].text
        if t in ("(", "[", "{"):
            depth += 1
        elif t in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and t == "?":
            if q is None:
                q = j
            else:
                nested += 1
        elif depth == 0 and t == ":" and q is not None:
            if nested == 0:
                return q, j
            nested -= 1
    return None


def mutants(path, src=None):
    if src is None:
        with open(path, encoding="utf-8") as f:
            src = f.read()
    toks = tokenize(src)
    funcs = functions(toks)
    out = []

    def emit(op, start, end, repl, line, desc):
        if src[start:end] == repl:
            return
        out.append({"op": op, "file": path, "line": line, "start": start, "end": end,
                    "replacement": repl, "function": function_at(funcs, line), "desc": desc})

    def text(a, b):
        return src[toks[a].start:toks[b].end]

    for i, t in enumerate(toks):
        if t.pp:
            # const_change on `#define NAME <integer>` (object-like, value alone).
            if (t.kind == "number" and i >= 2 and toks[i - 2].text == "define" and toks[i - 1].pp
                    and toks[i - 1].start + len(toks[i - 1].text) < t.start
                    and (i + 1 >= len(toks) or toks[i + 1].line != t.line or not toks[i + 1].pp)):
                r = off_by_one(t.text)
                if r is not None:
                    emit("const_change", t.start, t.end, r, t.line, f"#define {toks[i - 1].text} {t.text} -> {r}")
            continue
        # mo_weaken
        if t.kind == "ident" and t.text in STRONG_ORDERS:
            emit("mo_weaken", t.start, t.end, "memory_order_relaxed", t.line,
                 f"{t.text} -> memory_order_relaxed")
            continue
        if function_at(funcs, t.line) == "<file scope>":
            continue
        if t.kind == "number":
            r = off_by_one(t.text)
            if r is not None:
                emit("const_change", t.start, t.end, r, t.line, f"{t.text} -> {r}")
        if t.text == "!" and i + 1 < len(toks):
            emit("negation", t.start, t.end, "", t.line, f"removed ! before {toks[i + 1].text}")
        if statement_start(toks, i):
            end = statement_end(toks, i)
            if end is not None:
                call = call_at(toks, i)
                span = (t.start, toks[end].end)
                first_line = t.line
                if call is not None:
                    name = toks[call[0]].text
                    if name in ("atomic_thread_fence", "atomic_signal_fence"):
                        emit("fence_remove", *span, ";", first_line, f"removed {text(i, end)}")
                    elif name.startswith(("atomic_store", "__atomic_store")):
                        emit("store_remove", *span, ";", first_line, f"removed {text(i, end)}")
                    elif name not in NO_REMOVE:
                        emit("call_remove", *span, ";", first_line, f"removed {text(i, end)}")
                elif store_at(toks, i) is not None:
                    emit("store_remove", *span, ";", first_line, f"removed {text(i, end)}")
            # ret_swap
            if t.text == "return" and end is not None and end > i + 1:
                a, b = i + 1, end - 1
                if a == b and toks[a].text in ("true", "false"):
                    other = "false" if toks[a].text == "true" else "true"
                    emit("ret_swap", toks[a].start, toks[a].end, other, t.line,
                         f"return {toks[a].text} -> return {other}")
                elif a == b and STATUS.match(toks[a].text):
                    other = "DLLMEM_OS_ERROR" if toks[a].text == "DLLMEM_OK" else "DLLMEM_OK"
                    emit("ret_swap", toks[a].start, toks[a].end, other, t.line,
                         f"return {toks[a].text} -> return {other}")
                else:
                    qc = ternary_split(toks, a, b)
                    if qc is not None:
                        q, c = qc
                        x, y = text(q + 1, c - 1), text(c + 1, b)
                        if x != y:
                            repl = src[toks[q].start:toks[q].end] + " " + y + " : " + x
                            emit("ret_swap", toks[q].start, toks[b].end, repl, t.line,
                                 f"return ... ? {x} : {y} -> ? {y} : {x}")
        # arg_swap: any call (statement or expression) with >= 2 arguments.
        if (t.kind == "ident" and t.text not in KEYWORDS and i + 1 < len(toks)
                and toks[i + 1].text == "(" and (i == 0 or toks[i - 1].text not in ("struct", "union", "enum"))
                and t.text not in NO_SWAP and not t.text.startswith(NO_SWAP_PREFIXES)
                and not COMMUTATIVE.match(t.text)):
            close = matching(toks, i + 1)
            if close is None:
                continue
            # A declaration or definition `T name(...)` is not a call.
            if i > 0 and (toks[i - 1].kind == "ident" and toks[i - 1].text not in ("return", "case")
                          or toks[i - 1].text == "*" and i > 1
                          and toks[i - 2].kind == "ident"):
                continue
            args = split_args(toks, i + 1, close)
            for k in range(len(args) - 1):
                (a1, b1), (a2, b2) = args[k], args[k + 1]
                x, y = text(a1, b1), text(a2, b2)
                if x == y:
                    continue
                repl = y + src[toks[b1].end:toks[a2].start] + x
                emit("arg_swap", toks[a1].start, toks[b2].end, repl, t.line,
                     f"{t.text}(): arguments {k + 1} and {k + 2} swapped ({x} <-> {y})")
    return out


def apply(src, start, end, repl):
    return src[:start] + repl + src[end:]


def main(argv):
    if len(argv) >= 2 and argv[1] == "list":
        for path in argv[2:]:
            for m in mutants(path):
                print(json.dumps(m))
        return 0
    if len(argv) == 6 and argv[1] == "apply":
        with open(argv[2], encoding="utf-8") as f:
            sys.stdout.write(apply(f.read(), int(argv[3]), int(argv[4]), argv[5]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
