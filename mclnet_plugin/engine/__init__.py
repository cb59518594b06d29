from .translation_grid_hook import TranslationGridHook

__all__ = ['TranslationGridHook']
