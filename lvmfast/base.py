"""The estimator protocol: parameters, repr and scikit-learn tags, with no
dependency on scikit-learn."""
import inspect


class BaseEstimator:
    """Parameters are the keyword arguments of __init__, stored as given;
    fitted attributes end in an underscore."""

    # The scikit-learn estimator type: "clusterer", "classifier", "density_estimator" or None.
    _estimator_type = None
    # Whether transform() exists and which dtypes it preserves.
    _transformer = False
    # Whether fit needs y.
    _requires_y = False

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )

    def get_params(self, deep=True):
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params):
        valid = self._param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = []
        for name in self._param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            if _same_value(value, default):
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so importing it here adds no runtime dependency.
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=self._requires_y),
            transformer_tags=TransformerTags(preserves_dtype=["float64", "float32"]) if self._transformer else None,
            classifier_tags=ClassifierTags() if self._estimator_type == "classifier" else None,
            input_tags=InputTags(),
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_features_in_")


def _same_value(a, b):
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # arrays and other values without a plain truth value
        return False
