package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/campaign"
)

func (s *Server) campaignRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/campaigns", Query: []string{"parent", "search", "status", "threat_actor"}, Tag: "campaigns",
			Summary: "Test campaigns, newest first, with progress (filters: status, threat_actor, parent, search)",
			Roles:   everyone, Handler: s.listCampaigns, Response: Paged[*campaign.Summary]{}},
		{Method: http.MethodPost, Path: "/api/v1/campaigns", Tag: "campaigns",
			Summary: "Plan a campaign: name, description, threat actor, recurrence (none, weekly, monthly, quarterly), dates, ordered tests with dependencies (a cycle is refused with its path)",
			Roles:   campaign.Managers, Handler: s.createCampaign, Request: campaign.Input{}, Require: []string{"name"}, Response: campaign.Detail{}},
		{Method: http.MethodPost, Path: "/api/v1/campaigns/from-actor/:id", Tag: "campaigns",
			Summary: "Build a planned campaign against a threat actor (id or group id): its techniques × the best template per platform",
			Roles:   campaign.Managers, Handler: s.campaignFromActor, Request: campaign.BuildInput{}, Response: campaign.Built{}},
		{Method: http.MethodPost, Path: "/api/v1/campaigns/from-profile/:id", Tag: "campaigns",
			Summary: "Build a planned campaign from an imported ATT&CK campaign or adversary profile (abilities in order, each waiting for the one before)",
			Roles:   campaign.Managers, Handler: s.campaignFromProfile, Request: campaign.BuildInput{}, Response: campaign.Built{}},
		{Method: http.MethodGet, Path: "/api/v1/campaigns/:id", Tag: "campaigns",
			Summary: "One campaign with its ordered tests, their dependencies and the progress", Roles: everyone, Handler: s.getCampaign, Response: campaign.Detail{}},
		{Method: http.MethodPatch, Path: "/api/v1/campaigns/:id", Tag: "campaigns",
			Summary: "Change a planned or active campaign (fields left out stay; start_date or end_date null clears it; tests, when given, replace the list)",
			Roles:   campaign.Managers, Handler: s.updateCampaign, Request: campaign.Input{}, Response: campaign.Detail{}},
		{Method: http.MethodDelete, Path: "/api/v1/campaigns/:id", Tag: "campaigns",
			Summary: "Delete a campaign (its tests stay)", Roles: campaign.Managers, Handler: s.deleteCampaign},
		{Method: http.MethodPost, Path: "/api/v1/campaigns/:id/status", Tag: "campaigns",
			Summary: "Move a campaign: planned → active → completed; planned or active → cancelled",
			Roles:   campaign.Managers, Handler: s.campaignStatus, Request: statusInput{}, Response: campaign.Detail{}},
	}
}

type statusInput struct {
	Status core.CampaignStatus `json:"status" api:"required"`
}

func (s *Server) listCampaigns(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.CampaignFilter{Status: core.CampaignStatus(c.QueryParam("status")), Search: c.QueryParam("search"), Page: p}
	if f.ThreatActorID, err = queryID(c, "threat_actor"); err != nil {
		return err
	}
	if f.ParentID, err = queryID(c, "parent"); err != nil {
		return err
	}
	list, total, err := s.campaigns.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) createCampaign(c echo.Context) error {
	var in campaign.Input
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.campaigns.Create(c.Request().Context(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) buildInput(c echo.Context) (campaign.BuildInput, error) {
	var in campaign.BuildInput
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return in, err
		}
	}
	return in, nil
}

func (s *Server) campaignFromActor(c echo.Context) error {
	in, err := s.buildInput(c)
	if err != nil {
		return err
	}
	v, err := s.campaigns.FromActor(c.Request().Context(), currentUser(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) campaignFromProfile(c echo.Context) error {
	id, err := pathID(c, "id", "campaign profile")
	if err != nil {
		return err
	}
	in, err := s.buildInput(c)
	if err != nil {
		return err
	}
	v, err := s.campaigns.FromProfile(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) getCampaign(c echo.Context) error {
	id, err := pathID(c, "id", "campaign")
	if err != nil {
		return err
	}
	v, err := s.campaigns.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) updateCampaign(c echo.Context) error {
	id, err := pathID(c, "id", "campaign")
	if err != nil {
		return err
	}
	var in campaign.Input
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.campaigns.Update(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) deleteCampaign(c echo.Context) error {
	id, err := pathID(c, "id", "campaign")
	if err != nil {
		return err
	}
	if err := s.campaigns.Delete(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) campaignStatus(c echo.Context) error {
	id, err := pathID(c, "id", "campaign")
	if err != nil {
		return err
	}
	var in statusInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.campaigns.SetStatus(c.Request().Context(), currentUser(c), id, in.Status)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
