from .edge_condition import CannyEdges
from .pseudo_exemplar import PseudoExemplar

__all__ = ['CannyEdges', 'PseudoExemplar']
