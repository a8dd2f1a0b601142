"""Flow definitions: the patterns as YAML or JSON, validated before anything runs.

```yaml
name: research
flow:
  pattern: chain
  steps:
    - name: fetch
      agent: {kind: function, function: "tools:fetch"}
      on_error: {strategy: retry, max_attempts: 3, backoff: 0.5}
    - name: summarize
      agent: {kind: command, argv: [wc, -w], stdin: true}
```

``load_flow("flow.yaml")`` returns the runnable flow (``await flow.run(input, store=...)``);
``load_definition`` also returns the validated model and the default input. A bad definition
raises ``SpecError`` (a ``jotty.errors.DefinitionError``) whose one-line message starts with
``file:line:column: key:``. ``flow_schema()`` is the JSON Schema (``jotty schema``).
"""

from jotty.spec.errors import SpecError
from jotty.spec.loader import (
    Definition,
    flow_schema,
    load_definition,
    load_definition_text,
    load_flow,
    load_flow_text,
)
from jotty.spec.models import FlowSpec

__all__ = [
    "Definition",
    "FlowSpec",
    "SpecError",
    "flow_schema",
    "load_definition",
    "load_definition_text",
    "load_flow",
    "load_flow_text",
]
