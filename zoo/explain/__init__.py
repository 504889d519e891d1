"""Looking inside the models: filter maps, feature maps, each unit's favourite excerpts, an HTML report.

- `filters(model, weights)`: the first-layer filters analysed (timbral band, temporal BPM) against
  randomly initialised ones (`zoo.explain.filter_plots.write_filter_map` draws them);
- `activations(audio, model, weights, layers)`: time-aligned feature maps of a recording
  (`zoo.explain.pictures.plot_activations` draws them);
- `units(audios, model, weights, layer, out_dir)` / `UnitSearch`: each unit's top excerpts over a collection;
- `report(source, out_dir)`: one self-contained HTML page of a recording or of a units folder;
- `auralise`, `attribute`, `branch_attribution`: what a unit hears, which log-mel bins made a tag, and the
  timbral and temporal branches' shares of each tag;
- `tuning(model, weights, layer)`: each unit's response to probe tones (where along the frequency axis it fires).

These names are functions; the modules of the same name stay importable with
`from zoo.explain.filters import ...`. Every function takes a catalog name or a
folder written by `musiczoo finetune`, and raises `zoo.ZooError` for an
unknown layer (listing the layers) or a model without the kind of filter asked for.
"""

from zoo.explain.activations import Activations, activations
from zoo.explain.attribution import Attribution, attribute
from zoo.explain.auralise import auralise
from zoo.explain.branches import BranchAttribution, branch_attribution
from zoo.explain.filters import FilterMap, filters
from zoo.explain.report import report
from zoo.explain.tuning import Tuning, tuning
from zoo.explain.units import UnitSearch, units

__all__ = ["Activations", "Attribution", "BranchAttribution", "FilterMap", "Tuning", "UnitSearch", "activations",
           "attribute", "auralise", "branch_attribution", "filters", "report", "tuning", "units"]
