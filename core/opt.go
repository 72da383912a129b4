package core

import (
	"encoding/json"
	"reflect"
)

// Opt is a field of a partial update: absent (Set false), null (Set, Value nil) or a
// value. JSON decoding fills it that way, so PATCH {"prevented": null} can clear a
// verdict, or {"end_date": null} a campaign's end, while a PATCH that does not name
// the field leaves it alone.
type Opt[T any] struct {
	Set   bool
	Value *T
}

// Some returns an Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: &v} }

// Null returns an Opt that clears the field.
func Null[T any]() Opt[T] { return Opt[T]{Set: true} }

// UnmarshalJSON records that the field was present, and its value unless null.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// MarshalJSON writes the value or null (an absent Opt is omitted only with omitzero).
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if o.Value == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*o.Value)
}

// ValueType is T: the OpenAPI document describes an Opt as its value, nullable.
func (Opt[T]) ValueType() reflect.Type { return reflect.TypeFor[T]() }

// IsZero lets `omitzero` drop an absent field when a patch is encoded.
func (o Opt[T]) IsZero() bool { return !o.Set }
