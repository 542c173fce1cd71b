"""Errors raised by the compiler: each names the model and, where it applies, the operator."""


class ConversionError(ValueError):
    """A model cannot be converted. The message names the model, and the operator by
    its TFLite name and index when one operator is at fault."""

    def __init__(self, message, model=None, op_name=None, op_index=None):
        where = []
        if model:
            where.append(f"model {model!r}")
        if op_name is not None:
            where.append(f"operator {op_index} ({op_name})" if op_index is not None else f"operator {op_name}")
        self.model = model
        self.op_name = op_name
        self.op_index = op_index
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnsupportedOperatorError(ConversionError):
    """The model uses an operator, or an operator variant, that the engine does not implement."""
