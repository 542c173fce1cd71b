"""Errors raised by the compiler: each names the model and, where it applies, the operator or the tensor."""


class ConversionError(ValueError):
    """A model cannot be converted. The message names the model, the operator by its TFLite name and index when
    one operator is at fault, and the tensor by index and name when one tensor is."""

    def __init__(self, message, model=None, op_name=None, op_index=None, tensor_index=None, tensor_name=None):
        self.reason = message
        self.model = model
        self.op_name = op_name
        self.op_index = op_index
        self.tensor_index = tensor_index
        self.tensor_name = tensor_name
        where = []
        if model:
            where.append(f"model {model!r}")
        if op_name is not None:
            where.append(f"operator {op_index} ({op_name})" if op_index is not None else f"operator {op_name}")
        if tensor_index is not None:
            where.append(f"tensor {tensor_index} ({tensor_name!r})" if tensor_name is not None
                         else f"tensor {tensor_index}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def located(self, model=None, op_name=None, op_index=None) -> "ConversionError":
        """The same error (same class) with the model and operator filled in where it did not name them."""
        return type(self)(self.reason, model=self.model or model,
                          op_name=self.op_name if self.op_name is not None else op_name,
                          op_index=self.op_index if self.op_name is not None else op_index,
                          tensor_index=self.tensor_index, tensor_name=self.tensor_name)


class UnsupportedOperatorError(ConversionError):
    """The model uses an operator, or an operator variant, that the engine does not implement."""
