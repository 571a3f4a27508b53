"""Skills: text or a list -> a list of skill names (`x-canonical: skills`).

Text grammar:  [label] [verb] item (sep [verb] item)* [tail]
  label := 技能 专业技能 技术栈 skills, then ：or :
  verb  := 熟练使用 熟练掌握 熟练运用 熟练应用 会使用 会用 擅长 熟悉 精通 掌握 了解 善于 擅于 熟练 会,
           at the start of an item; 会 only where it is not the start of a word
           (会计 会议 会员 会展 ... stay whole: 会Python -> Python, 会计核算 stays)
  sep   := rule 7 / clarification 9 (split_text): 、 , ， ; ； / 和 及 与 以及 and
  tail  := 等/等等 (and 等技术, 等工具, ...), then 开发 or 编程, removed from the last item;
           开发/编程 only where no other item ends with it (Python和Java开发 -> Python, Java)
Known names take their usual spelling, as a whole item (python -> Python, spring boot ->
Spring Boot) or as a Latin word inside a Chinese item (mysql数据库 -> MySQL数据库).
A list: null-like items dropped, known names respelled, case-insensitive duplicates dropped.
An object of groups (`{"编程语言": "Python、Java", "工具": ["Git"]}`): the skills of every group
in order, the group names dropped; any other value is left unchanged.
"""

from __future__ import annotations

import functools

import regex

from .._deviation import Deviation, brief
from .._field import Field
from .._scalars import finite, number_text
from .._text import dedupe, is_null_like, split_text
from .._types import JSON
from ._reading import decode_json_text

_SPELLING_NOISE = regex.compile(r"[\s\-_.]+")
_VERBS = regex.compile(
    r"^(?:能够|能)?(?:熟练使用|熟练掌握|熟练运用|熟练应用|会使用|会用|擅长|熟悉|精通|掌握|了解|善于|擅于|熟练|会)[\s:：]*"
)
#: Words that start with 会 and are not "can": 会计核算 keeps its 会.
_HUI_WORDS = frozenset("会" + c for c in "计议员展话务签诊谈所客场晤聚合审演考战面商长意心费标徽期友刊堂馆见同稿操车通")
_LABEL = regex.compile(r"^\s*(?:专业技能|技能|技术栈|skills?)\s*[:：]\s*", regex.IGNORECASE)
_DENG_TAIL = regex.compile(
    r"(?<=\S)等{1,2}(?:各种|多种|常用)?(?:编程语言|开发语言|语言|技术栈|技术|技能|工具|框架|软件)$"
)
_WORK_TAILS = ("开发", "编程")
_LATIN_WORD = regex.compile(r"(?<![A-Za-z0-9.+#\-])[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+|[+#]+)*")
_CJK = regex.compile(r"\p{Han}")

#: Usual spellings; an item matches ignoring case, spaces, '-', '_' and '.'.
_NAMES = (
    "Python",
    "Java",
    "JavaScript",
    "TypeScript",
    "C",
    "C++",
    "C#",
    "Go",
    "Golang",
    "Rust",
    "PHP",
    "Ruby",
    "Swift",
    "Kotlin",
    "Scala",
    "R",
    "Perl",
    "Lua",
    "Dart",
    "Objective-C",
    "MATLAB",
    "Shell",
    "Bash",
    "PowerShell",
    "SQL",
    "NoSQL",
    "MySQL",
    "PostgreSQL",
    "SQLite",
    "SQL Server",
    "Oracle",
    "MongoDB",
    "Redis",
    "Elasticsearch",
    "HBase",
    "Hive",
    "ClickHouse",
    "Cassandra",
    "Memcached",
    "HTML",
    "HTML5",
    "CSS",
    "CSS3",
    "Sass",
    "Less",
    "jQuery",
    "React",
    "React Native",
    "Vue",
    "Vue.js",
    "Angular",
    "Node.js",
    "Next.js",
    "Nuxt.js",
    "Express",
    "Webpack",
    "Vite",
    "Three.js",
    "D3.js",
    "Flutter",
    "Android",
    "iOS",
    "Spring",
    "Spring Boot",
    "Spring Cloud",
    "Spring MVC",
    "MyBatis",
    "Hibernate",
    "Maven",
    "Gradle",
    "Django",
    "Flask",
    "FastAPI",
    "Laravel",
    "Ruby on Rails",
    ".NET",
    "ASP.NET",
    "Docker",
    "Kubernetes",
    "K8s",
    "Linux",
    "Unix",
    "Git",
    "GitHub",
    "GitLab",
    "SVN",
    "Jenkins",
    "Ansible",
    "Terraform",
    "Nginx",
    "Apache",
    "Tomcat",
    "Kafka",
    "RabbitMQ",
    "RocketMQ",
    "ZooKeeper",
    "Dubbo",
    "Netty",
    "gRPC",
    "GraphQL",
    "RESTful",
    "JSON",
    "XML",
    "YAML",
    "HTTP",
    "TCP/IP",
    "CI/CD",
    "AWS",
    "Azure",
    "GCP",
    "Hadoop",
    "Spark",
    "Flink",
    "Storm",
    "TensorFlow",
    "PyTorch",
    "Keras",
    "scikit-learn",
    "Pandas",
    "NumPy",
    "SciPy",
    "OpenCV",
    "NLP",
    "LLM",
    "Excel",
    "Word",
    "PowerPoint",
    "PPT",
    "Office",
    "Visio",
    "VBA",
    "Photoshop",
    "Illustrator",
    "InDesign",
    "Premiere",
    "After Effects",
    "Figma",
    "Sketch",
    "Axure",
    "AutoCAD",
    "SolidWorks",
    "CATIA",
    "Tableau",
    "Power BI",
    "SPSS",
    "SAS",
    "Stata",
    "SAP",
    "ERP",
    "CRM",
    "Jira",
    "Confluence",
    "Postman",
    "Selenium",
    "JMeter",
    "LaTeX",
    "Unity",
    "Unreal Engine",
    "Verilog",
    "VHDL",
    "FPGA",
    "PLC",
    "ROS",
    "Scrum",
    "Agile",
    "PMP",
    "Markdown",
    "UML",
    "Prometheus",
    "Grafana",
    "Xcode",
    "WebSocket",
    "OAuth",
    "MQTT",
    "SEO",
    "SEM",
    "CAD",
)
_SPELLING = {regex.sub(r"[\s\-_.]+", "", n).casefold(): n for n in _NAMES}


def _spelled(word: str) -> str | None:
    return _SPELLING.get(_SPELLING_NOISE.sub("", word).casefold())


@functools.lru_cache(maxsize=4096)
def respell(item: str) -> str:
    """A known name in its usual spelling: the whole item, or Latin words in a Chinese item.

    Cached: the same skill names come back in output after output."""
    whole = _spelled(item)
    if whole is not None:
        return whole
    if not _CJK.search(item):
        return item  # English phrases: only whole items ("go to market" is not Go)
    return _LATIN_WORD.sub(lambda m: _spelled(m.group()) or m.group(), item)


def _strip_verb(item: str) -> str:
    m = _VERBS.match(item)
    if m is None:
        return item
    verb, rest = m.group().strip(), item[m.end() :]
    if verb.endswith("会") and "会" + rest[:1] in _HUI_WORDS:
        return item
    return rest if rest.strip() else item


def _strip_tail(items: list[str]) -> list[str]:
    last = _DENG_TAIL.sub("", items[-1]).strip() or items[-1]
    for tail in _WORK_TAILS:
        others_end = any(i.endswith(tail) for i in items[:-1])
        if last.endswith(tail) and len(last) > len(tail) and not others_end:
            last = last[: -len(tail)].strip()
            break
    return [*items[:-1], last]


def _read_text(text: str, field: Field) -> tuple[JSON, list[Deviation]]:
    keep = field.schema.get("x-keep-whole") or ()
    body = _strip_verb(_LABEL.sub("", text).strip().rstrip("。！!;；,， "))  # 擅长与人沟通: the verb goes first
    items = split_text(body, tuple(k for k in keep if isinstance(k, str)))
    items = [i for i in (_strip_verb(i).strip() for i in items) if i and not is_null_like(i)]
    if not items:
        return text, []
    items = dedupe(respell(i) for i in _strip_tail(items))
    if items == [text]:
        return text, []  # one plain item: the walk's rule 7 wraps it
    return items, [Deviation("canon.skills", (), f"read {brief(text)} as {len(items)} skill(s)")]


def _read_list(items: list[JSON]) -> tuple[JSON, list[Deviation]]:
    out: list[JSON] = []
    devs: list[Deviation] = []
    seen: set[str] = set()
    for given in items:
        item = given
        if isinstance(given, int | float) and not isinstance(given, bool) and finite(given):
            item = number_text(given)  # as text now, so `[9, "9"]` is seen as a duplicate here, not next time
            devs.append(Deviation("coerce.number_to_text", (len(out),), f"{brief(given)} -> {brief(item)}"))
        if isinstance(item, str) and is_null_like(item):
            devs.append(Deviation("coerce.null_like", (len(out),), f"null-like item {brief(item)} dropped"))
            continue
        if not isinstance(item, str):
            out.append(item)
            continue
        spelled = respell(item.strip())
        if spelled.casefold() in seen:
            devs.append(Deviation("coerce.duplicate", (len(out),), f"duplicate item {brief(item)} dropped"))
            continue
        seen.add(spelled.casefold())
        if spelled != item:
            devs.append(Deviation("canon.skills", (len(out),), f"{brief(item)} is spelled {brief(spelled)}"))
        out.append(spelled)
    return (out, devs) if devs else (items, [])


def _read_groups(groups: dict[str, JSON], field: Field) -> tuple[JSON, list[Deviation]]:
    """`{"编程语言": "Python、Java", "工具": ["Git"]}`: the skills of every group, in order."""
    items: list[str] = []
    for value in groups.values():
        if isinstance(value, str):
            read, _ = _read_text(value, field)
            items.extend(read if isinstance(read, list) else [read])
        elif isinstance(value, list) and all(isinstance(i, str) for i in value):
            items.extend(value)
        else:
            return groups, []
    out, _ = _read_list(items)
    if not out:
        return groups, []
    return out, [Deviation("canon.skills", (), f"read the groups {brief(list(groups))} as one list of skills")]


def _read(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    if isinstance(value, str):
        return _read_text(value, field)
    if isinstance(value, list):
        return _read_list(value)
    if isinstance(value, dict) and value:
        return _read_groups(value, field)
    return value, []


def canonicalize_skills(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    """Text or a list of skills -> a list of skill names in their usual spelling."""
    decoded, devs = decode_json_text(value)
    out, more = _read(decoded, field)
    return (out, devs + more) if devs or more else (value, [])
